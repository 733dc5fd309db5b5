using InputGradients.Models.ImageNet;
using InputGradients.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Tests.Runtime;

/// <summary>
/// The shifted-GEMM convolution against three independent references: a convolution written out as loops from its
/// definition (tiny shapes), libtorch's float64 convolution and its autograd (random shapes, float32 under test), and
/// central finite differences of the kernel itself in float64. Every route the code can take is run: the kernel
/// (forced on), the libtorch fallback (forced off, and when a weight wants a gradient), no-grad and grad modes.
/// </summary>
[Collection(nameof(ProcessWideBackend))] // Kn2Row.Enabled is process-wide
public sealed class Kn2RowTests : ConvolutionKernelChecks
{
    protected override bool KernelEnabled { get => Kn2Row.Enabled; set => Kn2Row.Enabled = value; }

    protected override Tensor Kernel(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride)
        => Kn2Row.conv2d(input, weight, bias, padding, stride);

    [Fact]
    public void Tiny_convolutions_equal_the_definition_written_as_loops() => EqualsTheDefinitionOnTinyShapes(11, float64, 1e-12);

    [Fact]
    public void Float32_output_and_input_gradient_agree_with_libtorch_float64_over_random_shapes() => AgreesWithFloat64OverRandomShapes(5);

    [Fact]
    public void The_ResNet_stem_shape_agrees_with_libtorch_float64()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(31);
        var x64 = randn(new long[] { 2, 3, 64, 60 }, float64, generator: g);
        var w64 = randn(new long[] { 64, 3, 7, 7 }, float64, generator: g) / 12;
        var xr = x64.detach().requires_grad_(true);
        var yr = F.conv2d(xr, w64, strides: [2, 2], padding: [3, 3]);
        var gy = randn(yr.shape, float64, generator: g);
        yr.backward([gy]);
        var x32 = x64.to(float32).requires_grad_(true);
        var y32 = With(true, () => Kn2Row.conv2d(x32, w64.to(float32), null, (3, 3, 3, 3), 2));
        y32.backward([gy.to(float32)]);
        Assert.True(RelativeError(y32, yr) < 1e-5, $"output {RelativeError(y32, yr):E2}");
        Assert.True(RelativeError(x32.grad!, xr.grad!) < 1e-5, $"input gradient {RelativeError(x32.grad!, xr.grad!):E2}");
    }

    [Theory]
    [InlineData(3, 1)]   // few channels: one im2row GEMM
    [InlineData(40, 1)]  // one GEMM per tap
    [InlineData(3, 2)]   // strided, through the phases
    public void The_input_gradient_matches_central_finite_differences_in_float64(long channels, long stride)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)(21 + channels + stride));
        var x = randn(new long[] { 2, channels, 7, 6 }, float64, generator: g);
        var w = randn(new long[] { 4, channels, 3, 2 }, float64, generator: g);
        var b = randn(new long[] { 4 }, float64, generator: g);
        var pads = (1L, 1L, 0L, 1L);
        var shape = F.conv2d(F.pad(x, [0, 1, 1, 1]), w, strides: [stride, stride]).shape;
        var probe = randn(shape, float64, generator: g);
        double Loss(Tensor input) => With(true, () => (Kn2Row.conv2d(input, w, b, pads, stride) * probe).sum().item<double>());

        var xg = x.detach().requires_grad_(true);
        With(true, () => { (Kn2Row.conv2d(xg, w, b, pads, stride) * probe).sum().backward(); return 0; });
        // Directional derivatives along random directions: (L(x + h·d) - L(x - h·d)) / 2h = <dL/dx, d>; exact for a
        // linear map up to rounding.
        for (int k = 0; k < 6; k++)
        {
            var d = randn(x.shape, float64, generator: g);
            const double h = 1e-3;
            double numeric = (Loss(x + h * d) - Loss(x - h * d)) / (2 * h);
            double analytic = (xg.grad! * d).sum().item<double>();
            Assert.True(Math.Abs(numeric - analytic) < 1e-8 * Math.Max(1, Math.Abs(numeric)), $"direction {k}: analytic {analytic}, numeric {numeric}");
        }
    }

    [Fact]
    public void A_weight_that_wants_a_gradient_goes_to_libtorch_and_gets_the_right_one() => GivesAWeightThatWantsAGradientToLibtorch();

    [Fact]
    public void Forced_off_it_is_libtorchs_convolution_and_without_grad_it_builds_no_graph()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var x = randn(new long[] { 1, 4, 8, 8 }, generator: g);
        var w = randn(new long[] { 3, 4, 3, 3 }, generator: g);
        var off = With(false, () => Kn2Row.conv2d(x, w, null, (1, 1, 1, 1)));
        var reference = F.conv2d(x, w, padding: [1, 1]);
        Assert.True(off.allclose(reference, rtol: 0, atol: 0), "forced off, the result is not libtorch's convolution bit for bit");

        var xr = x.detach().requires_grad_(true);
        Tensor y;
        using (no_grad()) y = With(true, () => Kn2Row.conv2d(xr, w, null, (1, 1, 1, 1)));
        Assert.False(y.requires_grad);
        Assert.True(RelativeError(y, reference) < 1e-5);
    }

    [Theory]
    [MemberData(nameof(BadArguments), MemberType = typeof(ConvolutionKernelChecks))]
    public void Bad_arguments_are_refused_with_one_line(int inChannels, int kernel, long top, long bottom, long stride, string message)
        => RefusesBadArguments(inChannels, kernel, top, bottom, stride, message);

    [Fact]
    public void The_backbone_gives_the_same_features_and_input_gradient_with_and_without_it()
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        var x = model.Preprocess(rand(new long[] { 2, 3, 80, 72 }, generator: new Generator(8)) * 255);
        (Tensor, Tensor) Run(bool on) => With(on, () =>
        {
            var input = x.detach().clone().requires_grad_(true);
            var taps = model.forward_features(input, "layer1", "layer4");
            (taps["layer4"][.., 3].sum() + taps["layer1"].pow(2).mean()).backward();
            return (taps["layer4"].detach(), input.grad!.detach());
        });
        var (y1, g1) = Run(true);
        var (y0, g0) = Run(false);
        Assert.True(RelativeError(y1, y0) < 1e-5, $"layer4 differs by {RelativeError(y1, y0):E2}");
        Assert.True(RelativeError(g1, g0) < 1e-4, $"input gradient differs by {RelativeError(g1, g0):E2}");
    }
}
