using InputGradients.Models.ImageNet;
using InputGradients.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Tests.Runtime;

/// <summary>A fact skipped, with the reason, where the system's oneDNN 2.x cannot be loaded (CI installs Debian's libdnnl2).</summary>
public sealed class RequiresSystemOneDnnFactAttribute : FactAttribute
{
    public RequiresSystemOneDnnFactAttribute()
    {
        if (!SystemOneDnn.Available) Skip = $"system oneDNN unavailable: {SystemOneDnn.Description}";
    }
}

/// <summary>
/// The system's oneDNN 2.x route (<see cref="SystemOneDnn"/>) against independent references: the convolution written
/// out as loops (tiny shapes, see <see cref="ConvolutionKernelChecks.Definition"/>), libtorch's float64 convolution and autograd
/// over random shapes, strides and asymmetric padding, and the whole ResNet-18 backbone in float64. Every route the
/// code takes is run: the kernel with and without autograd, and each fallback to libtorch (switched off, a weight that
/// wants a gradient, float64).
/// </summary>
[Collection(nameof(ProcessWideBackend))] // SystemOneDnn.Enabled is process-wide
public sealed class SystemOneDnnTests : ConvolutionKernelChecks
{
    protected override bool KernelEnabled { get => SystemOneDnn.Enabled; set => SystemOneDnn.Enabled = value; }

    protected override Tensor Kernel(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride)
        => SystemOneDnn.conv2d(input, weight, bias, padding, stride);

    // float32 only: compared with the definition on the float32-rounded values.
    [RequiresSystemOneDnnFact]
    public void Tiny_convolutions_equal_the_definition_written_as_loops() => EqualsTheDefinitionOnTinyShapes(12, float32, 1e-5);

    [RequiresSystemOneDnnFact]
    public void Float32_output_and_input_gradient_agree_with_libtorch_float64_over_random_shapes() => AgreesWithFloat64OverRandomShapes(6);

    [RequiresSystemOneDnnFact]
    public void Repeated_calls_on_one_geometry_give_identical_results_with_and_without_autograd()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var x = randn(new long[] { 3, 16, 20, 20 }, generator: g);
        var w = randn(new long[] { 24, 16, 3, 3 }, generator: g);
        var b = randn(new long[] { 24 }, generator: g);
        Tensor first, second;
        using (no_grad()) first = With(true, () => SystemOneDnn.conv2d(x, w, b, (1, 1, 1, 1)));
        var xr = x.detach().requires_grad_(true);
        second = With(true, () => SystemOneDnn.conv2d(xr, w, b, (1, 1, 1, 1)));
        Assert.False(first.requires_grad);
        Assert.True(second.requires_grad);
        Assert.True(first.allclose(second.detach(), rtol: 0, atol: 0), "the forward pass differs between calls of one geometry");
    }

    [Fact]
    public void Switched_off_or_given_float64_it_is_libtorchs_convolution_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var x = randn(new long[] { 1, 4, 8, 8 }, generator: g);
        var w = randn(new long[] { 3, 4, 3, 3 }, generator: g);
        var reference = F.conv2d(F.pad(x, [1, 0, 1, 2]), w, strides: [2, 2]);
        var off = With(false, () => SystemOneDnn.conv2d(x, w, null, (1, 2, 1, 0), 2));
        Assert.True(off.allclose(reference, rtol: 0, atol: 0), "switched off, the result is not libtorch's convolution");
        var x64 = x.to(float64);
        var w64 = w.to(float64);
        var on64 = With(true, () => SystemOneDnn.conv2d(x64, w64, null, (1, 2, 1, 0), 2));
        Assert.True(on64.allclose(F.conv2d(F.pad(x64, [1, 0, 1, 2]), w64, strides: [2, 2]), rtol: 0, atol: 0), "float64 did not go to libtorch");
    }

    [Fact]
    public void A_weight_that_wants_a_gradient_goes_to_libtorch_and_gets_the_right_one() => GivesAWeightThatWantsAGradientToLibtorch();

    [Theory]
    [MemberData(nameof(BadArguments), MemberType = typeof(ConvolutionKernelChecks))]
    public void Bad_arguments_are_refused_with_one_line(int inChannels, int kernel, long top, long bottom, long stride, string message)
        => RefusesBadArguments(inChannels, kernel, top, bottom, stride, message);

    [RequiresSystemOneDnnFact]
    public void The_routes_self_check_passes_here_and_refuses_transposed_probes()
    {
        var results = ConvolutionRoute.CheckSystem(ConvolutionRoute.Probes.Where(p => !p.Transposed));
        Assert.Equal(ConvolutionRoute.Probes.Count(p => !p.Transposed), results.Count);
        // Float32 against float64 is never exact: an error of 0 would mean the check compared float64 with itself.
        Assert.All(results, r => Assert.InRange(Math.Max(r.Output, r.InputGradient), 1e-9, ConvolutionRoute.Tolerance / 10));
        Assert.Throws<ArgumentException>(() => ConvolutionRoute.CheckSystem(ConvolutionRoute.Probes.Where(p => p.Transposed)));
    }

    [RequiresSystemOneDnnFact]
    public void The_backbone_on_this_route_agrees_with_the_backbone_in_float64_as_closely_as_libtorchs_route()
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        using var model64 = ResNet18Backbone.Load();
        model64.to(float64);
        var x = model.Preprocess(rand(new long[] { 2, 3, 96, 80 }, generator: new Generator(8)) * 255);
        (Tensor Features, Tensor Gradient) Run(ResNet18Backbone net, Tensor input0)
        {
            var input = input0.detach().clone().requires_grad_(true);
            var taps = net.forward_features(input, "layer1", "layer4");
            (taps["layer4"][.., 3].sum() + taps["layer1"].pow(2).mean()).backward();
            return (taps["layer4"].detach(), input.grad!.detach());
        }
        var (y64, g64) = Run(model64, x.to(float64));
        var (ySystem, gSystem) = With(true, () => Run(model, x));
        var (yLibtorch, gLibtorch) = With(false, () => Run(model, x));
        // Mean absolute error relative to the mean magnitude: a ReLU that flips at a float32 rounding changes a few
        // gradient entries on either route, which the maximum would magnify.
        static double MeanError(Tensor a, Tensor r) => (a.to(float64) - r).abs().mean().item<double>() / r.abs().mean().item<double>();
        double fSystem = MeanError(ySystem, y64), gErrSystem = MeanError(gSystem, g64);
        double fLibtorch = MeanError(yLibtorch, y64), gErrLibtorch = MeanError(gLibtorch, g64);
        Assert.True(fSystem < 1e-5 && gErrSystem < 1e-4,
            $"system oneDNN against float64: features {fSystem:E2}, input gradient {gErrSystem:E2} (libtorch's route: {fLibtorch:E2}, {gErrLibtorch:E2})");
        Assert.True(gErrSystem < 10 * gErrLibtorch + 1e-7,
            $"system oneDNN's input gradient is {gErrSystem:E2} from float64, libtorch's route {gErrLibtorch:E2}");
        Assert.True(fSystem > 0 && gErrSystem > 0, "the float32 route equals float64 exactly: the comparison did not run the route");
    }
}
