using System.Text;
using InputGradients.Display;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Theory;

/// <summary>
/// Q1: the matrix A with y = A x of a single-channel 2-D convolution (PyTorch's cross-correlation, as in
/// <c>torch.nn.functional.conv2d</c>) or transposed convolution (<c>conv_transpose2d</c>), x and y flattened in
/// row-major order. Entry (r, c) is either zero or exactly one kernel weight w_(i,j): for an output position and an
/// input position, the kernel offset that links them, (input − output·stride + padding)/dilation, is unique.
/// The structure (which weight sits where) is stored; symbolic and numeric forms are read off it.
/// </summary>
public sealed class ConvolutionMatrix : IHasLatex
{
    /// <summary>Kernel index ki·kW + kj at (row, column), or −1 for a structural zero.</summary>
    readonly int[,] _index;

    public bool Transposed { get; }
    public (int H, int W) InputSize { get; }
    public (int H, int W) OutputSize { get; }
    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public (int H, int W) Padding { get; }
    public (int H, int W) Dilation { get; }
    public (int H, int W) OutputPadding { get; }

    public int Rows => _index.GetLength(0);
    public int Columns => _index.GetLength(1);

    ConvolutionMatrix(int[,] index, bool transposed, (int, int) input, (int, int) output, (int, int) kernel,
        (int, int) stride, (int, int) padding, (int, int) dilation, (int, int) outputPadding)
    {
        _index = index;
        Transposed = transposed;
        InputSize = input; OutputSize = output; KernelSize = kernel;
        Stride = stride; Padding = padding; Dilation = dilation; OutputPadding = outputPadding;
    }

    /// <summary>Output size of conv2d along one axis: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1.</summary>
    public static int Conv2dOutputSize(int n, int k, int stride, int padding, int dilation) =>
        (int)Math.Floor((n + 2.0 * padding - dilation * (k - 1) - 1) / stride) + 1;

    /// <summary>Output size of conv_transpose2d along one axis: (n − 1)s − 2p + d(k − 1) + output_padding + 1.</summary>
    public static int ConvTranspose2dOutputSize(int n, int k, int stride, int padding, int output_padding, int dilation) =>
        (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1;

    public static ConvolutionMatrix Conv2d(int inputSize, int kernelSize, int stride = 1, int padding = 0, int dilation = 1) =>
        Conv2d((inputSize, inputSize), (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation));

    /// <summary>The matrix of conv2d on a 1×1×H×W input with a 1×1×kH×kW kernel (no bias).</summary>
    public static ConvolutionMatrix Conv2d((int H, int W) input, (int H, int W) kernel, (int H, int W)? stride = null,
        (int H, int W)? padding = null, (int H, int W)? dilation = null)
    {
        var s = stride ?? (1, 1); var p = padding ?? (0, 0); var d = dilation ?? (1, 1);
        Validate(input, kernel, s, p, d);
        int oh = Conv2dOutputSize(input.H, kernel.H, s.H, p.H, d.H), ow = Conv2dOutputSize(input.W, kernel.W, s.W, p.W, d.W);
        if (oh < 1 || ow < 1)
            throw new ArgumentException($"conv2d of a {input.H}x{input.W} input with a {kernel.H}x{kernel.W} kernel, padding {p}, dilation {d} has an empty output ({oh}x{ow}).");
        var index = Fill(oh * ow, input.H * input.W);
        // y[o] = Σ_k w[k] x[o·s − p + k·d]  (cross-correlation, zero padding)
        for (int oi = 0; oi < oh; oi++)
        for (int oj = 0; oj < ow; oj++)
        for (int ki = 0; ki < kernel.H; ki++)
        for (int kj = 0; kj < kernel.W; kj++)
        {
            int ii = oi * s.H - p.H + ki * d.H, ij = oj * s.W - p.W + kj * d.W;
            if (ii < 0 || ii >= input.H || ij < 0 || ij >= input.W) continue;
            index[oi * ow + oj, ii * input.W + ij] = ki * kernel.W + kj;
        }
        return new ConvolutionMatrix(index, false, input, (oh, ow), kernel, s, p, d, (0, 0));
    }

    public static ConvolutionMatrix ConvTranspose2d(int inputSize, int kernelSize, int stride = 1, int padding = 0, int output_padding = 0, int dilation = 1) =>
        ConvTranspose2d((inputSize, inputSize), (kernelSize, kernelSize), (stride, stride), (padding, padding), (output_padding, output_padding), (dilation, dilation));

    /// <summary>The matrix of conv_transpose2d on a 1×1×H×W input with a 1×1×kH×kW kernel (no bias).</summary>
    public static ConvolutionMatrix ConvTranspose2d((int H, int W) input, (int H, int W) kernel, (int H, int W)? stride = null,
        (int H, int W)? padding = null, (int H, int W)? output_padding = null, (int H, int W)? dilation = null)
    {
        var s = stride ?? (1, 1); var p = padding ?? (0, 0); var op = output_padding ?? (0, 0); var d = dilation ?? (1, 1);
        Validate(input, kernel, s, p, d);
        if (op.H < 0 || op.W < 0 || (op.H >= s.H && op.H >= d.H) || (op.W >= s.W && op.W >= d.W))
            throw new ArgumentException($"output_padding {op} must be nonnegative and smaller than either stride {s} or dilation {d} (as in PyTorch).", nameof(output_padding));
        int oh = ConvTranspose2dOutputSize(input.H, kernel.H, s.H, p.H, op.H, d.H), ow = ConvTranspose2dOutputSize(input.W, kernel.W, s.W, p.W, op.W, d.W);
        if (oh < 1 || ow < 1)
            throw new ArgumentException($"conv_transpose2d of a {input.H}x{input.W} input with a {kernel.H}x{kernel.W} kernel, stride {s}, padding {p} has an empty output ({oh}x{ow}).");
        var index = Fill(oh * ow, input.H * input.W);
        // Each input value scatters w[k]·x[i] to output position i·s − p + k·d.
        for (int ii = 0; ii < input.H; ii++)
        for (int ij = 0; ij < input.W; ij++)
        for (int ki = 0; ki < kernel.H; ki++)
        for (int kj = 0; kj < kernel.W; kj++)
        {
            int oi = ii * s.H - p.H + ki * d.H, oj = ij * s.W - p.W + kj * d.W;
            if (oi < 0 || oi >= oh || oj < 0 || oj >= ow) continue;
            index[oi * ow + oj, ii * input.W + ij] = ki * kernel.W + kj;
        }
        return new ConvolutionMatrix(index, true, input, (oh, ow), kernel, s, p, d, op);
    }

    static void Validate((int H, int W) input, (int H, int W) kernel, (int H, int W) s, (int H, int W) p, (int H, int W) d)
    {
        if (input.H < 1 || input.W < 1) throw new ArgumentException($"Input size must be positive, got {input.H}x{input.W}.");
        if (kernel.H < 1 || kernel.W < 1) throw new ArgumentException($"Kernel size must be positive, got {kernel.H}x{kernel.W}.");
        if (s.H < 1 || s.W < 1) throw new ArgumentException($"Stride must be positive, got {s}.");
        if (p.H < 0 || p.W < 0) throw new ArgumentException($"Padding must be nonnegative, got {p}.");
        if (d.H < 1 || d.W < 1) throw new ArgumentException($"Dilation must be positive, got {d}.");
    }

    static int[,] Fill(int rows, int cols)
    {
        var a = new int[rows, cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) a[r, c] = -1;
        return a;
    }

    /// <summary>
    /// For a transposed convolution: the forward conv2d with the same kernel, stride, padding and dilation on an
    /// input of this matrix's output size. Its output size is this matrix's input size whenever output_padding &lt; stride,
    /// and then <c>ConvTranspose2d(...) == MatchingConv2d().Transpose()</c> entry for entry.
    /// </summary>
    public ConvolutionMatrix MatchingConv2d()
    {
        if (!Transposed) throw new InvalidOperationException("MatchingConv2d is defined for a transposed convolution's matrix.");
        return Conv2d(OutputSize, KernelSize, Stride, Padding, Dilation);
    }

    /// <summary>The transpose, with the same kernel structure (a generic matrix: its geometry fields describe the original).</summary>
    public ConvolutionMatrix Transpose()
    {
        var t = new int[Columns, Rows];
        for (int r = 0; r < Rows; r++) for (int c = 0; c < Columns; c++) t[c, r] = _index[r, c];
        return new ConvolutionMatrix(t, !Transposed, OutputSize, InputSize, KernelSize, Stride, Padding, Dilation, OutputPadding);
    }

    /// <summary>Same shape and the same weight (or zero) in every entry.</summary>
    public bool SameEntries(ConvolutionMatrix other)
    {
        if (other.Rows != Rows || other.Columns != Columns) return false;
        for (int r = 0; r < Rows; r++) for (int c = 0; c < Columns; c++) if (_index[r, c] != other._index[r, c]) return false;
        return true;
    }

    /// <summary>The kernel weight (i, j) at (row, column), or null for zero.</summary>
    public (int I, int J)? WeightAt(int row, int column)
    {
        var k = _index[row, column];
        return k < 0 ? null : (k / KernelSize.W, k % KernelSize.W);
    }

    /// <summary>Entry as text: <c>w_{(i,j)}</c> or <c>0</c>.</summary>
    public string Symbol(int row, int column) => WeightAt(row, column) is { } w ? $"w_{{({w.I},{w.J})}}" : "0";

    public string[,] ToSymbolic()
    {
        var s = new string[Rows, Columns];
        for (int r = 0; r < Rows; r++) for (int c = 0; c < Columns; c++) s[r, c] = Symbol(r, c);
        return s;
    }

    /// <summary>The numeric matrix for a kernel of shape kH×kW.</summary>
    public double[,] ToNumeric(double[,] kernel)
    {
        if (kernel.GetLength(0) != KernelSize.H || kernel.GetLength(1) != KernelSize.W)
            throw new ArgumentException($"Kernel is {kernel.GetLength(0)}x{kernel.GetLength(1)} but the matrix was built for {KernelSize.H}x{KernelSize.W}.", nameof(kernel));
        var a = new double[Rows, Columns];
        for (int r = 0; r < Rows; r++)
        for (int c = 0; c < Columns; c++)
            if (_index[r, c] >= 0) a[r, c] = kernel[_index[r, c] / KernelSize.W, _index[r, c] % KernelSize.W];
        return a;
    }

    /// <summary>
    /// The numeric matrix as a tensor (Rows×Columns, the kernel's dtype), built by gathering kernel entries, so it
    /// stays differentiable in the kernel. Accepts a kH×kW kernel or PyTorch's 1×1×kH×kW weight.
    /// </summary>
    public Tensor ToTensor(Tensor kernel)
    {
        using var scope = NewDisposeScope();
        var k = kernel.dim() == 4 && kernel.shape[0] == 1 && kernel.shape[1] == 1 ? kernel.reshape(kernel.shape[2], kernel.shape[3]) : kernel;
        if (k.dim() != 2 || k.shape[0] != KernelSize.H || k.shape[1] != KernelSize.W)
            throw new ArgumentException($"Kernel shape [{string.Join(", ", kernel.shape)}] does not match the matrix's kernel {KernelSize.H}x{KernelSize.W} (expected [{KernelSize.H}, {KernelSize.W}] or [1, 1, {KernelSize.H}, {KernelSize.W}]).", nameof(kernel));
        var flat = k.reshape(-1);
        // Append a zero so that structural zeros gather index kH·kW.
        var padded = cat(new[] { flat, zeros(1, dtype: flat.dtype, device: flat.device) });
        var idx = new long[Rows * Columns];
        int z = KernelSize.H * KernelSize.W;
        for (int r = 0; r < Rows; r++) for (int c = 0; c < Columns; c++) idx[r * Columns + c] = _index[r, c] < 0 ? z : _index[r, c];
        var a = padded.index_select(0, tensor(idx, device: flat.device)).reshape(Rows, Columns);
        return a.MoveToOuterDisposeScope();
    }

    /// <summary>A LaTeX bmatrix with symbolic entries.</summary>
    public string ToLatex()
    {
        var sb = new StringBuilder();
        // One line: markdown renderers that handle $$…$$ may not accept line breaks inside it.
        sb.Append("\\begin{bmatrix} ");
        for (int r = 0; r < Rows; r++)
        {
            sb.Append(string.Join(" & ", Enumerable.Range(0, Columns).Select(c => Symbol(r, c))));
            sb.Append(r + 1 < Rows ? " \\\\ " : " ");
        }
        sb.Append("\\end{bmatrix}");
        return sb.ToString();
    }

    public override string ToString() =>
        $"{(Transposed ? "conv_transpose2d" : "conv2d")} matrix {Rows}x{Columns}: input {InputSize.H}x{InputSize.W}, kernel {KernelSize.H}x{KernelSize.W}, stride {Stride}, padding {Padding}, dilation {Dilation}"
        + (Transposed ? $", output_padding {OutputPadding}" : "") + $" -> output {OutputSize.H}x{OutputSize.W}";
}
