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
/// out as loops (tiny shapes, see <see cref="Kn2RowTests.Definition"/>), libtorch's float64 convolution and autograd
/// over random shapes, strides and asymmetric padding, and the whole ResNet-18 backbone in float64. Every route the
/// code takes is run: the kernel with and without autograd, and each fallback to libtorch (switched off, a weight that
/// wants a gradient, float64).
/// </summary>
[Collection(nameof(ProcessWideBackend))] // SystemOneDnn.Enabled is process-wide
public sealed class SystemOneDnnTests
{
    static T With<T>(bool enabled, Func<T> run)
    {
        var before = SystemOneDnn.Enabled;
        SystemOneDnn.Enabled = enabled;
        try { return run(); }
        finally { SystemOneDnn.Enabled = before; }
    }

    static double RelativeError(Tensor actual, Tensor reference) => ConvolutionRoute.RelativeError(actual, reference.to(float64));

    [RequiresSystemOneDnnFact]
    public void Tiny_convolutions_equal_the_definition_written_as_loops()
    {
        var rng = new Random(12);
        for (int trial = 0; trial < 16; trial++)
        {
            using var scope = NewDisposeScope();
            long n = rng.Next(1, 3), c = rng.Next(1, 4), o = rng.Next(1, 4), h = rng.Next(1, 8), w = rng.Next(1, 8);
            long kh = rng.Next(1, 5), kw = rng.Next(1, 5);
            int stride = trial % 3 + 1;
            long top = rng.Next(0, 3), bottom = rng.Next(0, 3), left = rng.Next(0, 3), right = rng.Next(0, 3);
            if (h + top + bottom < kh || w + left + right < kw) { trial--; continue; }
            var g = new Generator((ulong)trial);
            var x = randn(new[] { n, c, h, w }, float64, generator: g);
            var wt = randn(new[] { o, c, kh, kw }, float64, generator: g);
            var b = trial % 2 == 0 ? randn(new[] { o }, float64, generator: g) : null;
            var ours = With(true, () => SystemOneDnn.conv2d(x.to(float32), wt.to(float32), b?.to(float32), (top, bottom, left, right), stride));
            // The definition on the same float32-rounded values, in float64: what is left is float32 arithmetic.
            var expected = Kn2RowTests.Definition(Kn2RowTests.ToArray4(x.to(float32)), Kn2RowTests.ToArray4(wt.to(float32)),
                b?.to(float32).to(float64).data<double>().ToArray(), top, bottom, left, right, stride);
            Assert.Equal(new long[] { expected.GetLength(0), expected.GetLength(1), expected.GetLength(2), expected.GetLength(3) }, ours.shape);
            var got = Kn2RowTests.ToArray4(ours);
            for (int a = 0; a < expected.GetLength(0); a++)
                for (int q = 0; q < expected.GetLength(1); q++)
                    for (int i = 0; i < expected.GetLength(2); i++)
                        for (int j = 0; j < expected.GetLength(3); j++)
                            Assert.True(Math.Abs(got[a, q, i, j] - expected[a, q, i, j]) < 1e-5 * Math.Max(1, Math.Abs(expected[a, q, i, j])),
                                $"trial {trial} (stride {stride}): y[{a},{q},{i},{j}] = {got[a, q, i, j]} against {expected[a, q, i, j]}");
        }
    }

    [RequiresSystemOneDnnFact]
    public void Float32_output_and_input_gradient_agree_with_libtorch_float64_over_random_shapes()
    {
        var rng = new Random(6);
        var failures = new List<string>();
        for (int trial = 0; trial < 80; trial++)
        {
            using var scope = NewDisposeScope();
            long n = rng.Next(1, 6), c = rng.Next(1, 70), o = rng.Next(1, 70), h = rng.Next(1, 30), w = rng.Next(1, 30);
            long kh = rng.Next(1, 8), kw = rng.Next(1, 8), stride = rng.Next(1, 4);
            long top = rng.Next(0, 4), bottom = rng.Next(0, 4), left = rng.Next(0, 4), right = rng.Next(0, 4);
            if (h + top + bottom < kh || w + left + right < kw) { trial--; continue; }
            bool bias = trial % 3 != 0, strided = trial % 4 == 1;
            var g = new Generator((ulong)(200 + trial));
            var x64 = randn(new[] { n, c, h, w }, float64, generator: g);
            var w64 = randn(new[] { o, c, kh, kw }, float64, generator: g) / Math.Sqrt(c * kh * kw);
            var b64 = bias ? randn(new[] { o }, float64, generator: g) : null;

            var xr = x64.detach().requires_grad_(true);
            var yr = F.conv2d(F.pad(xr, [left, right, top, bottom]), w64, b64, strides: [stride, stride]);
            var gy64 = randn(yr.shape, float64, generator: g);
            yr.backward([gy64]);

            // Every fourth input arrives as a non-contiguous view (channels-last memory), as a permuted tensor would.
            var x32 = strided
                ? x64.to(float32).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).requires_grad_(true)
                : x64.to(float32).requires_grad_(true);
            var y32 = With(true, () => SystemOneDnn.conv2d(x32, w64.to(float32), b64?.to(float32), (top, bottom, left, right), stride));
            y32.backward([gy64.to(float32)]);

            double ey = RelativeError(y32, yr), eg = RelativeError(x32.grad!, xr.grad!);
            if (!(ey < 1e-5 && eg < 1e-5))
                failures.Add($"N={n} C={c}->{o} {h}x{w} k={kh}x{kw} s={stride} pad=({top},{bottom},{left},{right}) bias={bias} strided={strided}: output {ey:E2}, input gradient {eg:E2}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

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
    public void A_weight_that_wants_a_gradient_goes_to_libtorch_and_gets_the_right_one()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var x = randn(new long[] { 2, 5, 9, 9 }, generator: g).requires_grad_(true);
        var w = randn(new long[] { 6, 5, 3, 3 }, generator: g).requires_grad_(true);
        var y = With(true, () => SystemOneDnn.conv2d(x, w, null, (1, 1, 1, 1)));
        y.pow(2).sum().backward();

        var x64 = x.detach().to(float64).requires_grad_(true);
        var w64 = w.detach().to(float64).requires_grad_(true);
        F.conv2d(x64, w64, padding: [1, 1]).pow(2).sum().backward();
        Assert.True(RelativeError(w.grad!, w64.grad!) < 1e-5, $"weight gradient {RelativeError(w.grad!, w64.grad!):E2}");
        Assert.True(RelativeError(x.grad!, x64.grad!) < 1e-5, $"input gradient {RelativeError(x.grad!, x64.grad!):E2}");
    }

    [Theory]
    [InlineData(1, 3, -1, 0, 1, "padding must be non-negative")]
    [InlineData(2, 3, 0, 0, 1, "do not make")]
    [InlineData(3, 7, 0, 0, 1, "does not fit")]
    [InlineData(3, 3, 0, 0, 0, "stride must be at least 1")]
    public void Bad_arguments_are_refused_with_one_line(int inChannels, int kernel, long top, long bottom, long stride, string message)
    {
        using var scope = NewDisposeScope();
        var x = zeros(1, 3, 5, 5);
        var w = zeros(2, inChannels == 2 ? 2 : 3, kernel, kernel);
        var e = Assert.ThrowsAny<ArgumentException>(() => With(true, () => SystemOneDnn.conv2d(x, w, null, (top, bottom, 0, 0), stride)));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

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
