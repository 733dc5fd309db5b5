using InputGradients.Runtime;
using InputGradients.Synthesis;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Runtime;

/// <summary>Tests that switch libtorch's process-wide backends run alone, after every parallel test.</summary>
[CollectionDefinition(nameof(ProcessWideBackend), DisableParallelization = true)]
public sealed class ProcessWideBackend;

/// <summary>
/// The permanent guard of "correct on every CPU": every native kernel the library leans on, over a few hundred random
/// shapes, in float32 against the same computation in float64 on this machine (oneDNN never computes float64, and
/// libtorch's float64 kernels are plain loops and BLAS). Outputs and every gradient are compared. Run on the route the
/// runtime chose, then with oneDNN forced off and forced on (see <see cref="ConvolutionRoute"/>).
/// </summary>
[Collection(nameof(ProcessWideBackend))]
public class NativeKernelTests
{
    /// <summary>One computation: float64 inputs (cast to the precision under test), which of them get gradients, the function.</summary>
    sealed record Case(string Name, Tensor[] Inputs, bool[] Differentiable, Func<Tensor[], Tensor> F);

    [Fact]
    public void Native_kernels_agree_with_float64_on_the_route_the_runtime_chose()
    {
        var route = ConvolutionRoute.Ensure();
        AssertAgree(Cases(seed: 1), $"route: {route.Summary}");
    }

    [Fact]
    public void With_oneDNN_forced_off_native_kernels_agree_with_float64()
    {
        var before = ConvolutionRoute.Ensure();
        try
        {
            ConvolutionRoute.Use(oneDnn: false, "forced off by a test");
            Assert.False(LibtorchContext.MkldnnEnabled);
            AssertAgree(Cases(seed: 2), "oneDNN forced off");
        }
        finally { ConvolutionRoute.Use(before.OneDnn, before.Reason, before.SystemOneDnn); }
        Assert.Equal(before.OneDnn, LibtorchContext.MkldnnEnabled);
    }

    [Fact]
    public void With_oneDNN_forced_on_results_are_right_exactly_where_the_self_check_passes()
    {
        var before = ConvolutionRoute.Ensure();
        try
        {
            ConvolutionRoute.Use(oneDnn: true, "forced on by a test");
            Assert.True(LibtorchContext.MkldnnEnabled);
            var probes = ConvolutionRoute.Check(ConvolutionRoute.Probes);
            var wrong = probes.Where(p => p.Wrong).ToList();
            if (wrong.Count == 0)
            {
                // An unaffected machine: the fast path must then be right on every shape, not only on the probes.
                AssertAgree(Cases(seed: 3), "oneDNN forced on after a passing self-check");
            }
            else if (!before.Reason.StartsWith("forced", StringComparison.Ordinal))
            {
                // An affected machine: the runtime must not have left it on the fast path.
                Assert.False(before.OneDnn,
                    $"the self-check finds {wrong.Count} wrong shapes (first: {wrong[0].Probe}, error {wrong[0].Worst:g3}) but the runtime chose oneDNN: {before.Reason}");
            }
        }
        finally { ConvolutionRoute.Use(before.OneDnn, before.Reason, before.SystemOneDnn); }
    }

    [Fact]
    public void The_self_check_measures_float32_rounding_where_kernels_are_right()
    {
        var before = ConvolutionRoute.Ensure();
        try
        {
            ConvolutionRoute.Use(oneDnn: false, "forced off by a test");
            var results = ConvolutionRoute.Check(ConvolutionRoute.Probes);
            Assert.Equal(ConvolutionRoute.Probes.Count, results.Count);
            // float32 against float64 on sums of at most a few thousand terms: far below the tolerance, and never exact.
            Assert.All(results, r => Assert.InRange(r.Worst, 1e-9, ConvolutionRoute.Tolerance / 10));
        }
        finally { ConvolutionRoute.Use(before.OneDnn, before.Reason, before.SystemOneDnn); }
    }

    [Fact]
    public void Relative_error_counts_NaN_and_infinity_as_wrong()
    {
        using var reference = tensor(new double[] { 1, -2, 3 });
        Assert.Equal(0.0, ConvolutionRoute.RelativeError(tensor(new float[] { 1, -2, 3 }), reference));
        Assert.Equal(0.5 / 3, ConvolutionRoute.RelativeError(tensor(new float[] { 1, -2, 3.5f }), reference), 6);
        Assert.Equal(double.PositiveInfinity, ConvolutionRoute.RelativeError(tensor(new float[] { 1, float.NaN, 3 }), reference));
        Assert.Equal(double.PositiveInfinity, ConvolutionRoute.RelativeError(tensor(new float[] { float.PositiveInfinity, 0, 3 }), reference));
    }

    // ---- the property test ----

    static void AssertAgree(IEnumerable<Case> cases, string context)
    {
        var failures = new List<string>();
        int count = 0;
        foreach (var c in cases)
        {
            count++;
            using var scope = NewDisposeScope();
            var r32 = Evaluate(c, ScalarType.Float32);
            var r64 = Evaluate(c, ScalarType.Float64);
            for (int i = 0; i < r64.Length; i++)
            {
                double e = ConvolutionRoute.RelativeError(r32[i], r64[i]);
                if (!(e <= ConvolutionRoute.Tolerance))
                    failures.Add($"{c.Name}: {(i == 0 ? "output" : $"gradient of input {i - 1}")} relative error {e:g3}");
            }
        }
        Assert.True(count >= 300, $"only {count} cases");
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {count} computations disagree with float64 ({context}):\n" + string.Join('\n', failures.Take(12)));
    }

    /// <summary>The output and the gradients of Σ output·u (u a fixed random upstream gradient) with respect to the differentiable inputs.</summary>
    static Tensor[] Evaluate(Case c, ScalarType dtype)
    {
        var inputs = c.Inputs.Select((x, i) => c.Differentiable[i] ? x.to_type(dtype).requires_grad_() : x.to_type(dtype)).ToArray();
        using var _ = enable_grad();
        var y = c.F(inputs);
        using var g = new Generator(12345);
        var upstream = randn(y.shape, dtype: ScalarType.Float64, generator: g).to_type(dtype);
        var wrt = inputs.Where((_, i) => c.Differentiable[i]).ToArray();
        var grads = autograd.grad([y], wrt, [upstream]);
        return [y.detach(), .. grads];
    }

    static IEnumerable<Case> Cases(int seed)
    {
        var rng = new Random(seed);
        using var gen = new Generator((ulong)seed);
        Tensor Randn(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: gen);
        int R(int lo, int hiInclusive) => rng.Next(lo, hiInclusive + 1);

        for (int t = 0; t < 150; t++)
        {
            long groups = R(1, 3), cin = groups * R(1, 7), cout = groups * R(1, 7), kh = R(1, 5), kw = R(1, 5);
            long sh = R(1, 3), sw = R(1, 3), dh = R(1, 2), dw = R(1, 2), ph = R(0, (int)(dh * (kh - 1) / 2)), pw = R(0, (int)(dw * (kw - 1) / 2));
            long n = R(1, 5), h = dh * (kh - 1) + 1 + R(0, 14), w = dw * (kw - 1) + 1 + R(0, 14);
            bool bias = rng.Next(2) == 0;
            Tensor[] inputs = bias ? [Randn(n, cin, h, w), Randn(cout, cin / groups, kh, kw), Randn(cout)] : [Randn(n, cin, h, w), Randn(cout, cin / groups, kh, kw)];
            yield return new Case($"conv2d N={n} C={cin}->{cout} g={groups} k={kh}x{kw} s={sh},{sw} p={ph},{pw} d={dh},{dw} {h}x{w}",
                inputs, inputs.Select(_ => true).ToArray(),
                x => nn.functional.conv2d(x[0], x[1], x.Length > 2 ? x[2] : null, strides: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups: groups));
        }
        for (int t = 0; t < 100; t++)
        {
            long groups = R(1, 3), cin = groups * R(1, 7), cout = groups * R(1, 7), k = R(1, 5), s = R(1, 3), d = R(1, 2);
            long p = R(0, (int)(d * (k - 1) / 2)), op = R(0, (int)Math.Max(s, d) - 1), n = R(1, 4), hw = R(2, 14);
            Tensor[] inputs = [Randn(n, cin, hw, hw), Randn(cin, cout / groups, k, k)];
            yield return new Case($"conv_transpose2d N={n} C={cin}->{cout} g={groups} k={k} s={s} p={p} op={op} d={d} {hw}x{hw}",
                inputs, [true, true],
                x => nn.functional.conv_transpose2d(x[0], x[1], null, strides: [s, s], padding: [p, p], output_padding: [op, op], dilation: [d, d], groups: groups));
        }
        for (int t = 0; t < 40; t++)
        {
            long k = R(1, 4), s = R(1, 3), p = R(0, (int)k / 2), d = R(1, 2), n = R(1, 3), c = R(1, 20), hw = d * (k - 1) + 1 + R(0, 16);
            bool ceil = rng.Next(2) == 0;
            // Distinct values a float32 holds exactly, so both precisions pick the same maximum.
            var x = (randperm(n * c * hw * hw, generator: gen).to_type(ScalarType.Float64) / 64).view(n, c, hw, hw);
            yield return new Case($"max_pool2d N={n} C={c} k={k} s={s} p={p} d={d} ceil={ceil} {hw}x{hw}", [x], [true],
                x => nn.functional.max_pool2d(x[0], [k, k], strides: [s, s], padding: [p, p], dilation: [d, d], ceil_mode: ceil));
        }
        for (int t = 0; t < 40; t++)
        {
            long k = R(1, 5), s = R(1, 3), p = R(0, (int)k / 2), n = R(1, 3), c = R(1, 20), hw = k + R(0, 16);
            bool ceil = rng.Next(2) == 0, includePad = rng.Next(2) == 0;
            yield return new Case($"avg_pool2d N={n} C={c} k={k} s={s} p={p} ceil={ceil} pad={includePad} {hw}x{hw}", [Randn(n, c, hw, hw)], [true],
                x => nn.functional.avg_pool2d(x[0], [k, k], stride: [s, s], padding: [p, p], ceil_mode: ceil, count_include_pad: includePad));
        }
        for (int t = 0; t < 30; t++)
        {
            long n = R(2, 6), c = R(1, 40), hw = R(1, 12);
            bool training = rng.Next(2) == 0;
            var mean = Randn(c); var variance = Randn(c).abs() + 0.5;
            yield return new Case($"batch_norm training={training} N={n} C={c} {hw}x{hw}", [Randn(n, c, hw, hw), Randn(c), Randn(c)], [true, true, true],
                x => nn.functional.batch_norm(x[0], mean.to_type(x[0].dtype), variance.to_type(x[0].dtype), x[1], x[2], training, 0.1, 1e-5));
        }
        for (int t = 0; t < 25; t++)
        {
            long n = R(1, 40), fin = R(1, 300), fout = R(1, 200);
            yield return new Case($"linear N={n} {fin}->{fout}", [Randn(n, fin), Randn(fout, fin), Randn(fout)], [true, true, true],
                x => nn.functional.linear(x[0], x[1], x[2]));
        }
        for (int t = 0; t < 25; t++)
        {
            // Gram matrices as style transfer computes them: F Fᵀ / (H W) per image.
            long n = R(1, 3), c = R(1, 64), hw = R(1, 24);
            yield return new Case($"bmm Gram N={n} C={c} {hw}x{hw}", [Randn(n, c, hw, hw)], [true],
                x => { var f = x[0].flatten(2); return bmm(f, f.transpose(1, 2)) / (hw * hw); });
        }
        for (int t = 0; t < 10; t++)
        {
            long m = R(1, 100), k = R(1, 100), nn_ = R(1, 100);
            yield return new Case($"matmul {m}x{k} @ {k}x{nn_}", [Randn(m, k), Randn(k, nn_)], [true, true], x => matmul(x[0], x[1]));
        }
        for (int t = 0; t < 30; t++)
        {
            // Grad-CAM upsamples a coarse map to the image size.
            long n = R(1, 3), c = R(1, 4), h = R(1, 14), w = R(1, 14), oh = R(1, 64), ow = R(1, 64);
            bool align = rng.Next(2) == 0;
            yield return new Case($"interpolate bilinear align_corners={align} {h}x{w}->{oh}x{ow}", [Randn(n, c, h, w)], [true],
                x => nn.functional.interpolate(x[0], size: [oh, ow], mode: InterpolationMode.Bilinear, align_corners: align));
        }
        for (int t = 0; t < 20; t++)
        {
            double sigma = 0.3 + rng.NextDouble() * 1.5;
            long n = R(1, 2), c = R(1, 3), hw = 8 + R(0, 40);
            yield return new Case($"gaussian_blur sigma={sigma:F2} N={n} C={c} {hw}x{hw}", [Randn(n, c, hw, hw)], [true],
                x => ClassVisualizationTransforms.gaussian_blur(x[0], sigma));
        }
    }
}
