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
public sealed class Kn2RowTests
{
    static T With<T>(bool enabled, Func<T> run)
    {
        var before = Kn2Row.Enabled;
        Kn2Row.Enabled = enabled;
        try { return run(); }
        finally { Kn2Row.Enabled = before; }
    }

    static double RelativeError(Tensor actual, Tensor reference)
    {
        using var a = actual.to(float64);
        using var r = reference.to(float64);
        double scale = r.abs().max().item<double>();
        return (a - r).abs().max().item<double>() / Math.Max(scale, 1e-300);
    }

    /// <summary>y[n,o,i,j] = b[o] + Σ_c Σ_u Σ_v xpad[n,c,s·i+u,s·j+v] · w[o,c,u,v], with xpad zero outside the input.</summary>
    internal static double[,,,] Definition(double[,,,] x, double[,,,] w, double[]? b, long top, long bottom, long left, long right, int stride)
    {
        int n = x.GetLength(0), c = x.GetLength(1), h = x.GetLength(2), wd = x.GetLength(3);
        int o = w.GetLength(0), kh = w.GetLength(2), kw = w.GetLength(3);
        int ho = ((int)(h + top + bottom) - kh) / stride + 1, wo = ((int)(wd + left + right) - kw) / stride + 1;
        var y = new double[n, o, ho, wo];
        for (int a = 0; a < n; a++)
            for (int q = 0; q < o; q++)
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                    {
                        double s = b?[q] ?? 0;
                        for (int ch = 0; ch < c; ch++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++)
                                {
                                    long yy = i * stride + u - top, xx = j * stride + v - left;
                                    if (yy >= 0 && yy < h && xx >= 0 && xx < wd) s += x[a, ch, yy, xx] * w[q, ch, u, v];
                                }
                        y[a, q, i, j] = s;
                    }
        return y;
    }

    internal static double[,,,] ToArray4(Tensor t)
    {
        using var d = t.to(float64).contiguous();
        var flat = d.data<double>().ToArray();
        var s = t.shape.Select(v => (int)v).ToArray();
        var r = new double[s[0], s[1], s[2], s[3]];
        Buffer.BlockCopy(flat, 0, r, 0, flat.Length * sizeof(double));
        return r;
    }

    [Fact]
    public void Tiny_convolutions_equal_the_definition_written_as_loops()
    {
        var rng = new Random(11);
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
            var ours = With(true, () => Kn2Row.conv2d(x, wt, b, (top, bottom, left, right), stride));
            var expected = Definition(ToArray4(x), ToArray4(wt), b?.data<double>().ToArray(), top, bottom, left, right, stride);
            Assert.Equal(new long[] { expected.GetLength(0), expected.GetLength(1), expected.GetLength(2), expected.GetLength(3) }, ours.shape);
            var got = ToArray4(ours);
            for (int a = 0; a < expected.GetLength(0); a++)
                for (int q = 0; q < expected.GetLength(1); q++)
                    for (int i = 0; i < expected.GetLength(2); i++)
                        for (int j = 0; j < expected.GetLength(3); j++)
                            Assert.True(Math.Abs(got[a, q, i, j] - expected[a, q, i, j]) < 1e-12,
                                $"trial {trial} (stride {stride}): y[{a},{q},{i},{j}] = {got[a, q, i, j]} against {expected[a, q, i, j]}");
        }
    }

    [Fact]
    public void Float32_output_and_input_gradient_agree_with_libtorch_float64_over_random_shapes()
    {
        var rng = new Random(5);
        var failures = new List<string>();
        for (int trial = 0; trial < 80; trial++)
        {
            using var scope = NewDisposeScope();
            long n = rng.Next(1, 6), c = rng.Next(1, 70), o = rng.Next(1, 70), h = rng.Next(1, 30), w = rng.Next(1, 30);
            long kh = rng.Next(1, 8), kw = rng.Next(1, 8), stride = rng.Next(1, 4);
            long top = rng.Next(0, 4), bottom = rng.Next(0, 4), left = rng.Next(0, 4), right = rng.Next(0, 4);
            if (h + top + bottom < kh || w + left + right < kw) { trial--; continue; }
            var g = new Generator((ulong)(100 + trial));
            var x64 = randn(new[] { n, c, h, w }, float64, generator: g);
            var w64 = randn(new[] { o, c, kh, kw }, float64, generator: g) / Math.Sqrt(c * kh * kw);
            var b64 = randn(new[] { o }, float64, generator: g);

            var xr = x64.detach().requires_grad_(true);
            var yr = F.conv2d(F.pad(xr, [left, right, top, bottom]), w64, b64, strides: [stride, stride]);
            var gy64 = randn(yr.shape, float64, generator: g);
            yr.backward([gy64]);

            var x32 = x64.to(float32).requires_grad_(true);
            var y32 = With(true, () => Kn2Row.conv2d(x32, w64.to(float32), b64.to(float32), (top, bottom, left, right), stride));
            y32.backward([gy64.to(float32)]);

            double ey = RelativeError(y32, yr), eg = RelativeError(x32.grad!, xr.grad!);
            if (!(ey < 1e-5 && eg < 1e-5))
                failures.Add($"N={n} C={c}->{o} {h}x{w} k={kh}x{kw} s={stride} pad=({top},{bottom},{left},{right}): output {ey:E2}, input gradient {eg:E2}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

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
    public void A_weight_that_wants_a_gradient_goes_to_libtorch_and_gets_the_right_one()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var x = randn(new long[] { 2, 5, 9, 9 }, generator: g).requires_grad_(true);
        var w = randn(new long[] { 6, 5, 3, 3 }, generator: g).requires_grad_(true);
        var y = With(true, () => Kn2Row.conv2d(x, w, null, (1, 1, 1, 1)));
        y.pow(2).sum().backward();

        var x64 = x.detach().to(float64).requires_grad_(true);
        var w64 = w.detach().to(float64).requires_grad_(true);
        F.conv2d(x64, w64, padding: [1, 1]).pow(2).sum().backward();
        Assert.True(RelativeError(w.grad!, w64.grad!) < 1e-5, $"weight gradient {RelativeError(w.grad!, w64.grad!):E2}");
        Assert.True(RelativeError(x.grad!, x64.grad!) < 1e-5, $"input gradient {RelativeError(x.grad!, x64.grad!):E2}");
    }

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
    [InlineData(1, 3, -1, 0, 0, 0, "padding must be non-negative")]
    [InlineData(2, 3, 0, 0, 0, 0, "do not make")]
    [InlineData(3, 7, 0, 0, 0, 0, "does not fit")]
    public void Bad_arguments_are_refused_with_one_line(int inChannels, int kernel, long top, long bottom, long left, long right, string message)
    {
        using var scope = NewDisposeScope();
        var x = zeros(1, 3, 5, 5);
        var w = zeros(2, inChannels == 2 ? 2 : 3, kernel, kernel);
        var e = Assert.ThrowsAny<ArgumentException>(() => With(true, () => Kn2Row.conv2d(x, w, null, (top, bottom, left, right))));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

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
