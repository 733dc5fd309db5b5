using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Tests.Runtime;

/// <summary>
/// The checks every convolution kernel of the library shares (<c>Runtime/Kn2Row</c>, <c>Runtime/SystemOneDnn</c>): both
/// take <c>conv2d(input, weight, bias, (top, bottom, left, right), stride)</c>, compute the output and the input
/// gradient themselves, and leave weight gradients to libtorch. Each test class runs them through its kernel,
/// switched on, with <see cref="Conv"/>.
/// </summary>
public abstract class ConvolutionKernelChecks
{
    /// <summary>The kernel's process-wide switch.</summary>
    protected abstract bool KernelEnabled { get; set; }

    /// <summary>The kernel's <c>conv2d</c> (it runs libtorch's convolution when switched off).</summary>
    protected abstract Tensor Kernel(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride);

    /// <summary>Runs <paramref name="run"/> with the kernel switched on or off, and restores the switch.</summary>
    protected T With<T>(bool enabled, Func<T> run)
    {
        var before = KernelEnabled;
        KernelEnabled = enabled;
        try { return run(); }
        finally { KernelEnabled = before; }
    }

    /// <summary>The kernel under test, switched on for the call.</summary>
    protected Tensor Conv(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride = 1)
        => With(true, () => Kernel(input, weight, bias, padding, stride));

    protected static double RelativeError(Tensor actual, Tensor reference)
    {
        using var a = actual.to(float64);
        using var r = reference.to(float64);
        double scale = r.abs().max().item<double>();
        return (a - r).abs().max().item<double>() / Math.Max(scale, 1e-300);
    }

    /// <summary>
    /// A convolution by libtorch in float64 and its input gradient by autograd, backward from an output gradient drawn
    /// from <paramref name="g"/> (after the inputs the caller drew): the reference for <see cref="Float32Against"/>.
    /// </summary>
    protected sealed record Float64Reference(Tensor Weight, Tensor? Bias, (long top, long bottom, long left, long right) Padding, long Stride,
        Tensor Output, Tensor OutputGradient, Tensor InputGradient)
    {
        public static Float64Reference Of(Tensor x64, Tensor w64, Tensor? b64, (long top, long bottom, long left, long right) padding, long stride, Generator g)
        {
            var (top, bottom, left, right) = padding;
            var x = x64.detach().requires_grad_(true);
            var y = F.conv2d(F.pad(x, [left, right, top, bottom]), w64, b64, strides: [stride, stride]);
            var dy = randn(y.shape, float64, generator: g);
            y.backward([dy]);
            return new(w64, b64, padding, stride, y.detach(), dy, x.grad!);
        }
    }

    /// <summary>
    /// The kernel under test on <paramref name="input"/> (the reference's input in float32, in any layout or view) and
    /// the reference's weights in float32, backward from its output gradient: the output, the input gradient and the
    /// relative error of each against the reference.
    /// </summary>
    protected (Tensor Output, Tensor InputGradient, double OutputError, double GradientError) Float32Against(Float64Reference reference, Tensor input)
    {
        var x = input.requires_grad_(true);
        var y = Conv(x, reference.Weight.to(float32), reference.Bias?.to(float32), reference.Padding, reference.Stride);
        y.backward([reference.OutputGradient.to(float32)]);
        return (y.detach(), x.grad!, RelativeError(y, reference.Output), RelativeError(x.grad!, reference.InputGradient));
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

    /// <summary>
    /// Tiny random convolutions (strides 1-3, asymmetric padding, with and without bias) against <see cref="Definition"/>,
    /// computed in float64 on the values the kernel saw (rounded to <paramref name="dtype"/> first), so that what is left
    /// is the kernel's own arithmetic: <paramref name="tolerance"/> relative to max(1, |y|).
    /// </summary>
    protected void EqualsTheDefinitionOnTinyShapes(int seed, ScalarType dtype, double tolerance)
    {
        var rng = new Random(seed);
        for (int trial = 0; trial < 16; trial++)
        {
            using var scope = NewDisposeScope();
            long n = rng.Next(1, 3), c = rng.Next(1, 4), o = rng.Next(1, 4), h = rng.Next(1, 8), w = rng.Next(1, 8);
            long kh = rng.Next(1, 5), kw = rng.Next(1, 5);
            int stride = trial % 3 + 1;
            long top = rng.Next(0, 3), bottom = rng.Next(0, 3), left = rng.Next(0, 3), right = rng.Next(0, 3);
            if (h + top + bottom < kh || w + left + right < kw) { trial--; continue; }
            var g = new Generator((ulong)trial);
            var x = randn(new[] { n, c, h, w }, float64, generator: g).to(dtype);
            var wt = randn(new[] { o, c, kh, kw }, float64, generator: g).to(dtype);
            var b = trial % 2 == 0 ? randn(new[] { o }, float64, generator: g).to(dtype) : null;
            var ours = Conv(x, wt, b, (top, bottom, left, right), stride);
            var expected = Definition(ToArray4(x), ToArray4(wt), b?.to(float64).data<double>().ToArray(), top, bottom, left, right, stride);
            Assert.Equal(new long[] { expected.GetLength(0), expected.GetLength(1), expected.GetLength(2), expected.GetLength(3) }, ours.shape);
            var got = ToArray4(ours);
            for (int a = 0; a < expected.GetLength(0); a++)
                for (int q = 0; q < expected.GetLength(1); q++)
                    for (int i = 0; i < expected.GetLength(2); i++)
                        for (int j = 0; j < expected.GetLength(3); j++)
                            Assert.True(Math.Abs(got[a, q, i, j] - expected[a, q, i, j]) < tolerance * Math.Max(1, Math.Abs(expected[a, q, i, j])),
                                $"trial {trial} (stride {stride}): y[{a},{q},{i},{j}] = {got[a, q, i, j]} against {expected[a, q, i, j]}");
        }
    }

    /// <summary>
    /// 80 random float32 convolutions (1-69 channels, kernels to 7x7, strides 1-3, asymmetric padding, bias on two in
    /// three, every fourth input a non-contiguous view): output and input gradient against libtorch in float64.
    /// </summary>
    protected void AgreesWithFloat64OverRandomShapes(int seed)
    {
        var rng = new Random(seed);
        var failures = new List<string>();
        for (int trial = 0; trial < 80; trial++)
        {
            using var scope = NewDisposeScope();
            long n = rng.Next(1, 6), c = rng.Next(1, 70), o = rng.Next(1, 70), h = rng.Next(1, 30), w = rng.Next(1, 30);
            long kh = rng.Next(1, 8), kw = rng.Next(1, 8), stride = rng.Next(1, 4);
            long top = rng.Next(0, 4), bottom = rng.Next(0, 4), left = rng.Next(0, 4), right = rng.Next(0, 4);
            if (h + top + bottom < kh || w + left + right < kw) { trial--; continue; }
            bool bias = trial % 3 != 0, strided = trial % 4 == 1;
            var g = new Generator((ulong)(100 * seed + trial));
            var x64 = randn(new[] { n, c, h, w }, float64, generator: g);
            var w64 = randn(new[] { o, c, kh, kw }, float64, generator: g) / Math.Sqrt(c * kh * kw);
            var b64 = bias ? randn(new[] { o }, float64, generator: g) : null;

            var reference = Float64Reference.Of(x64, w64, b64, (top, bottom, left, right), stride, g);

            // A non-contiguous view: channels-last memory, as a permuted tensor would arrive.
            var x32 = strided ? x64.to(float32).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : x64.to(float32);
            var (_, _, ey, eg) = Float32Against(reference, x32);
            if (!(ey < 1e-5 && eg < 1e-5))
                failures.Add($"N={n} C={c}->{o} {h}x{w} k={kh}x{kw} s={stride} pad=({top},{bottom},{left},{right}) bias={bias} strided={strided}: output {ey:E2}, input gradient {eg:E2}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>A weight that wants a gradient goes to libtorch (the kernels compute none) and gets the right one, as does the input.</summary>
    protected void GivesAWeightThatWantsAGradientToLibtorch()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var x = randn(new long[] { 2, 5, 9, 9 }, generator: g).requires_grad_(true);
        var w = randn(new long[] { 6, 5, 3, 3 }, generator: g).requires_grad_(true);
        var y = Conv(x, w, null, (1, 1, 1, 1));
        y.pow(2).sum().backward();

        var x64 = x.detach().to(float64).requires_grad_(true);
        var w64 = w.detach().to(float64).requires_grad_(true);
        F.conv2d(x64, w64, padding: [1, 1]).pow(2).sum().backward();
        Assert.True(RelativeError(w.grad!, w64.grad!) < 1e-5, $"weight gradient {RelativeError(w.grad!, w64.grad!):E2}");
        Assert.True(RelativeError(x.grad!, x64.grad!) < 1e-5, $"input gradient {RelativeError(x.grad!, x64.grad!):E2}");
    }

    /// <summary>Input channels, kernel size, top and bottom padding, stride, and the words the refusal must contain.</summary>
    public static TheoryData<int, int, long, long, long, string> BadArguments => new()
    {
        { 1, 3, -1, 0, 1, "padding must be non-negative" },
        { 2, 3, 0, 0, 1, "do not make" },
        { 3, 7, 0, 0, 1, "does not fit" },
        { 3, 3, 0, 0, 0, "stride must be at least 1" },
    };

    /// <summary>Bad sizes are refused with one line naming the problem.</summary>
    protected void RefusesBadArguments(int inChannels, int kernel, long top, long bottom, long stride, string message)
    {
        using var scope = NewDisposeScope();
        var x = zeros(1, 3, 5, 5);
        var w = zeros(2, inChannels == 2 ? 2 : 3, kernel, kernel);
        var e = Assert.ThrowsAny<ArgumentException>(() => Conv(x, w, null, (top, bottom, 0, 0), stride));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
