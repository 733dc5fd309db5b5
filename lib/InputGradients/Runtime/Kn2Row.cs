using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Runtime;

/// <summary>
/// <c>conv2d</c> as a sum of k_h·k_w shifted matrix products ("kn2row-aa": Vasudevan, Anderson, Gregg,
/// "Parallel Multi Channel Convolution using General Matrix Multiplication", ASAP 2017), with the backward pass to
/// the input written the same way: an alternative to libtorch's im2col route where oneDNN is off. Opt-in
/// (<see cref="Enabled"/>), because it did not pay on a quiet machine: on the affected EPYC VM, ResNet-18 forward +
/// backward to the input at batch 5, 224 px, took 0.60-0.68 s with it against 0.43-0.46 s on libtorch's route with
/// 2 threads (1.10-1.22 s against 0.65-0.94 s with 1), interleaved, <c>scratch</c> timing of the backbone. Single
/// layers measured beside a CPU-bound process favoured it (a 64-channel 56x56 layer 30 ms against 155 ms), which is
/// why it is kept, tested, for the busy-machine work of the performance issue.
/// </summary>
/// <remarks>
/// How: the input is copied once into a zero-padded, channels-last buffer of rows <c>(n, y, x)</c> × channels. An
/// output at <c>(n, y, x)</c> is <c>Σ_{i,j} row(n, y+i, x+j) · W[:, :, i, j]ᵀ</c>, and the row of <c>(n, y+i, x+j)</c>
/// is the row of <c>(n, y, x)</c> plus <c>i·W_p + j</c>: so tap (i, j) is one GEMM of the whole buffer shifted by a
/// constant number of rows, accumulated into an output laid out on the same padded grid, which is then cut to the
/// valid positions (rows that straddle a border or an image boundary are computed and thrown away; for 3x3 kernels
/// on 56x56 that is 7 % more work, on 7x7 65 %). The input gradient is the same sum with <c>Wᵀ</c>, scattered back
/// with the opposite shifts. Outputs and gradients are returned contiguous (NCHW), so nothing downstream sees an odd
/// memory layout. Weight and bias gradients are not computed: when either needs one, <see cref="conv2d"/> runs
/// libtorch's convolution instead.
/// </remarks>
public static class Kn2Row
{
    /// <summary>Whether models use this kernel where it applies (see the class): off unless set. Process-wide.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Input channels below which one im2row GEMM replaces the per-tap GEMMs (see <c>Forward</c>).</summary>
    const long FewChannels = 32;


    /// <summary>
    /// <c>F.conv2d(F.pad(input, [left, right, top, bottom]), weight, bias)</c> with stride 1, dilation 1, one group:
    /// here when <see cref="Enabled"/> and no weight or bias gradient is wanted, else by libtorch.
    /// </summary>
    /// <param name="input">N×C×H×W.</param>
    /// <param name="weight">O×C×kh×kw.</param>
    /// <param name="bias">O, or null.</param>
    /// <param name="padding">Zero padding (top, bottom, left, right); each at least 0.</param>
    /// <param name="stride">Stride (both directions). A stride s is turned into stride 1 first: the padded input is
    /// split into its s² phases (<c>pixel_unshuffle</c>), which become channels, and the kernel is split the same
    /// way (zero-extended to a multiple of s), so a 7x7 stride-2 convolution of 3 channels (ResNet's stem) becomes a
    /// 4x4 stride-1 convolution of 12. Worth it only for few input channels: the zero taps cost s²·⌈k/s⌉²/k² more
    /// multiplications.</param>
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride = 1)
    {
        ConvolutionArguments.Check(nameof(Kn2Row), input, weight, bias, padding, stride);
        var (top, bottom, left, right) = padding;
        bool parameterGradient = is_grad_enabled() && (weight.requires_grad || bias?.requires_grad == true);
        if (!Enabled || parameterGradient || input.dtype != weight.dtype || input.device_type != DeviceType.CPU)
        {
            using var padded = F.pad(input, [left, right, top, bottom]);
            return F.conv2d(padded, weight, bias, strides: [stride, stride]);
        }
        if (stride > 1) return Strided(input, weight, bias, padding, stride);
        if (is_grad_enabled() && input.requires_grad)
            return Function.apply(input, weight, bias!, top, bottom, left, right);
        using var scope = NewDisposeScope();
        using var taps = Taps(weight);
        return Forward(input, taps, bias, top, bottom, left, right).MoveToOuterDisposeScope();
    }

    /// <summary>Stride s as stride 1 over the input's s² phases (see <see cref="conv2d"/>).</summary>
    static Tensor Strided(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long s)
    {
        var (top, bottom, left, right) = padding;
        long kh = weight.shape[2], kw = weight.shape[3];
        long hp = input.shape[2] + top + bottom, wp = input.shape[3] + left + right;
        long ho = (hp - kh) / s + 1, wo = (wp - kw) / s + 1;
        // Pad the far edges up to whole phases; the extra rows and columns only meet zero taps or are cut below.
        long hq = (hp + s - 1) / s, wq = (wp + s - 1) / s, khq = (kh + s - 1) / s, kwq = (kw + s - 1) / s;
        using var scope = NewDisposeScope();
        var padded = F.pad(input, [left, right + wq * s - wp, top, bottom + hq * s - hp]);
        var phases = F.pixel_unshuffle(padded, s);                       // channel c·s² + a·s + b holds x[.., s·u + a, s·v + b]
        Tensor phaseWeight;
        using (no_grad())
        {
            var w = F.pad(weight, [0, kwq * s - kw, 0, khq * s - kh]);      // zero taps up to a multiple of s
            long o = weight.shape[0], c = weight.shape[1];
            phaseWeight = w.view(o, c, khq, s, kwq, s).permute(0, 1, 3, 5, 2, 4).reshape(o, c * s * s, khq, kwq);
        }
        var y = conv2d(phases, phaseWeight, bias, (0, 0, 0, 0));
        return y.narrow(2, 0, ho).narrow(3, 0, wo).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The weight as kh×kw×C×O: tap (i, j) is the C×O matrix <c>W[:, :, i, j]ᵀ</c>.</summary>
    static Tensor Taps(Tensor weight) => weight.permute(2, 3, 1, 0).contiguous();

    static Tensor Forward(Tensor input, Tensor taps, Tensor? bias, long top, long bottom, long left, long right)
    {
        long n = input.shape[0], c = input.shape[1], h = input.shape[2], w = input.shape[3];
        long kh = taps.shape[0], kw = taps.shape[1], o = taps.shape[3];
        long hp = h + top + bottom, wp = w + left + right, ho = hp - kh + 1, wo = wp - kw + 1;
        long rows = n * hp * wp, m = rows - ((kh - 1) * wp + (kw - 1));

        using var buffer = zeros(new[] { n, hp, wp, c }, input.dtype);
        using (var inside = buffer.narrow(1, top, h).narrow(2, left, w))
        using (var channelsLast = input.permute(0, 2, 3, 1))
            inside.copy_(channelsLast);
        using var flat = buffer.view(rows, c);

        using var output = empty(new[] { rows, o }, input.dtype);
        using var head = output.narrow(0, 0, m);
        if (bias is not null)
            using (var row = bias.expand(m, o)) head.copy_(row);
        if (c < FewChannels)
        {
            // Few channels: a GEMM per tap would have an inner dimension of c and rewrite the whole output k² times;
            // gather the taps side by side instead (im2row, k²·c columns) and multiply once.
            using var columns = empty(new[] { m, kh * kw * c }, input.dtype);
            for (long i = 0; i < kh; i++)
                for (long j = 0; j < kw; j++)
                {
                    using var block = columns.narrow(1, (i * kw + j) * c, c);
                    using var shifted = flat.narrow(0, i * wp + j, m);
                    block.copy_(shifted);
                }
            using var matrix = taps.view(kh * kw * c, o);
            head.addmm_(columns, matrix, beta: bias is null ? 0 : 1);
        }
        else
            for (long i = 0; i < kh; i++)
                for (long j = 0; j < kw; j++)
                {
                    using var shifted = flat.narrow(0, i * wp + j, m);
                    using var tap = taps[i, j];
                    head.addmm_(shifted, tap, beta: bias is null && i == 0 && j == 0 ? 0 : 1);
                }
        using var grid = output.view(n, hp, wp, o);
        using var valid = grid.narrow(1, 0, ho).narrow(2, 0, wo);
        using var nchw = valid.permute(0, 3, 1, 2);
        return nchw.contiguous();
    }

    /// <summary>d(loss)/d(input) from d(loss)/d(output): the forward's shifts reversed, each tap's matrix transposed.</summary>
    static Tensor Backward(Tensor gradOutput, Tensor taps, long h, long w, long top, long bottom, long left, long right)
    {
        long n = gradOutput.shape[0], o = gradOutput.shape[1], ho = gradOutput.shape[2], wo = gradOutput.shape[3];
        long kh = taps.shape[0], kw = taps.shape[1], c = taps.shape[2];
        long hp = h + top + bottom, wp = w + left + right, rows = n * hp * wp, m = rows - ((kh - 1) * wp + (kw - 1));

        using var grid = zeros(new[] { n, hp, wp, o }, gradOutput.dtype);
        using (var valid = grid.narrow(1, 0, ho).narrow(2, 0, wo))
        using (var channelsLast = gradOutput.permute(0, 2, 3, 1))
            valid.copy_(channelsLast);
        using var flat = grid.view(rows, o);
        using var head = flat.narrow(0, 0, m);

        using var gradBuffer = empty(new[] { rows, c }, gradOutput.dtype);
        if (c < FewChannels)
        {
            // The forward's im2row, transposed: one GEMM to the columns, then each tap's block added back in place.
            using var matrix = taps.view(kh * kw * c, o);
            using var columns = head.matmul(matrix.t());
            gradBuffer.zero_();
            for (long i = 0; i < kh; i++)
                for (long j = 0; j < kw; j++)
                {
                    using var shifted = gradBuffer.narrow(0, i * wp + j, m);
                    using var block = columns.narrow(1, (i * kw + j) * c, c);
                    shifted.add_tensor_(block);
                }
        }
        else
        {
            // Tap (0, 0) writes rows [0, m) with beta 0; only the tail [m, rows) needs zeros before the others add.
            using (var tail = gradBuffer.narrow(0, m, rows - m)) tail.zero_();
            for (long i = 0; i < kh; i++)
                for (long j = 0; j < kw; j++)
                {
                    using var shifted = gradBuffer.narrow(0, i * wp + j, m);
                    using var tap = taps[i, j];
                    using var tapT = tap.t();
                    shifted.addmm_(head, tapT, beta: i == 0 && j == 0 ? 0 : 1);
                }
        }
        using var padded = gradBuffer.view(n, hp, wp, c);
        using var inside = padded.narrow(1, top, h).narrow(2, left, w);
        using var nchw = inside.permute(0, 3, 1, 2);
        return nchw.contiguous();
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "Kn2RowConv2d";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (input, weight, bias) = ((Tensor)vars[0], (Tensor)vars[1], vars[2] as Tensor);
            var (top, bottom, left, right) = ((long)vars[3], (long)vars[4], (long)vars[5], (long)vars[6]);
            var taps = Taps(weight);
            ctx.save_for_backward([taps]);
            ctx.save_data("geometry", new[] { input.shape[2], input.shape[3], top, bottom, left, right });
            return Forward(input, taps, bias, top, bottom, left, right);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var taps = ctx.get_saved_variables()[0];
            var g = (long[])ctx.get_data("geometry");
            var gradInput = Backward(grad_output, taps, g[0], g[1], g[2], g[3], g[4], g[5]);
            // One entry per argument of apply: only the input gets a gradient (see conv2d).
            return [gradInput, null!, null!, null!, null!, null!, null!];
        }
    }
}
