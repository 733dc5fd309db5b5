using CsCheck;
using InputGradients.Theory;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Theory;

public class ConvolutionMatrixTests
{
    public sealed record ConvCase(int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW, int OPH, int OPW)
    {
        public override string ToString() =>
            $"input {H}x{W}, kernel {KH}x{KW}, stride ({SH},{SW}), padding ({PH},{PW}), dilation ({DH},{DW}), output_padding ({OPH},{OPW})";
    }

    static readonly Gen<ConvCase> Cases =
        from h in Gen.Int[1, 9]
        from w in Gen.Int[1, 9]
        from kh in Gen.Int[1, 4]
        from kw in Gen.Int[1, 4]
        from sh in Gen.Int[1, 3]
        from sw in Gen.Int[1, 3]
        from ph in Gen.Int[0, 3]
        from pw in Gen.Int[0, 3]
        from dh in Gen.Int[1, 3]
        from dw in Gen.Int[1, 3]
        from oph in Gen.Int[0, 2]
        from opw in Gen.Int[0, 2]
        select new ConvCase(h, w, kh, kw, sh, sw, ph, pw, dh, dw, oph, opw);

    static bool ForwardValid(ConvCase c) =>
        ConvolutionMatrix.Conv2dOutputSize(c.H, c.KH, c.SH, c.PH, c.DH) >= 1 && ConvolutionMatrix.Conv2dOutputSize(c.W, c.KW, c.SW, c.PW, c.DW) >= 1;

    static bool TransposedValid(ConvCase c) =>
        (c.OPH < c.SH || c.OPH < c.DH) && (c.OPW < c.SW || c.OPW < c.DW)
        && ConvolutionMatrix.ConvTranspose2dOutputSize(c.H, c.KH, c.SH, c.PH, c.OPH, c.DH) >= 1
        && ConvolutionMatrix.ConvTranspose2dOutputSize(c.W, c.KW, c.SW, c.PW, c.OPW, c.DW) >= 1;

    /// <summary>A x (x flattened row-major) equals torch.nn.functional.conv2d, and the output shape agrees.</summary>
    static void CheckForward(ConvCase c, long seed)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed);
        var x = randn(new long[] { 1, 1, c.H, c.W }, dtype: float64, generator: g);
        var w = randn(new long[] { 1, 1, c.KH, c.KW }, dtype: float64, generator: g);
        var expected = nn.functional.conv2d(x, w, null, new long[] { c.SH, c.SW }, new long[] { c.PH, c.PW }, new long[] { c.DH, c.DW });
        var a = ConvolutionMatrix.Conv2d((c.H, c.W), (c.KH, c.KW), (c.SH, c.SW), (c.PH, c.PW), (c.DH, c.DW));
        Assert.Equal(new long[] { 1, 1, a.OutputSize.H, a.OutputSize.W }, expected.shape);
        var y = matmul(a.ToTensor(w), x.reshape(-1));
        Assert.True(allclose(y, expected.reshape(-1), rtol: 1e-12, atol: 1e-12), $"conv2d mismatch for {c}");
        // The double[,] form agrees with the tensor form.
        var numeric = a.ToNumeric(ToArray(w.reshape(c.KH, c.KW)));
        Assert.True(allclose(tensor(numeric), a.ToTensor(w)), $"ToNumeric disagrees with ToTensor for {c}");
    }

    static void CheckTransposed(ConvCase c, long seed)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed);
        var x = randn(new long[] { 1, 1, c.H, c.W }, dtype: float64, generator: g);
        var w = randn(new long[] { 1, 1, c.KH, c.KW }, dtype: float64, generator: g);
        var expected = nn.functional.conv_transpose2d(x, w, null, new long[] { c.SH, c.SW }, new long[] { c.PH, c.PW },
            new long[] { c.OPH, c.OPW }, new long[] { c.DH, c.DW });
        var a = ConvolutionMatrix.ConvTranspose2d((c.H, c.W), (c.KH, c.KW), (c.SH, c.SW), (c.PH, c.PW), (c.OPH, c.OPW), (c.DH, c.DW));
        Assert.Equal(new long[] { 1, 1, a.OutputSize.H, a.OutputSize.W }, expected.shape);
        var y = matmul(a.ToTensor(w), x.reshape(-1));
        Assert.True(allclose(y, expected.reshape(-1), rtol: 1e-12, atol: 1e-12), $"conv_transpose2d mismatch for {c}");
    }

    static double[,] ToArray(Tensor t)
    {
        var r = new double[t.shape[0], t.shape[1]];
        for (int i = 0; i < r.GetLength(0); i++) for (int j = 0; j < r.GetLength(1); j++) r[i, j] = t[i, j].item<double>();
        return r;
    }

    [Fact]
    public void Conv2d_matrix_matches_torch_on_random_geometries() =>
        Cases.Where(ForwardValid).Select(Gen.Long, (c, s) => (c, s)).Sample(t => CheckForward(t.c, t.s), iter: 400, threads: 1);

    [Fact]
    public void ConvTranspose2d_matrix_matches_torch_on_random_geometries() =>
        Cases.Where(TransposedValid).Select(Gen.Long, (c, s) => (c, s)).Sample(t => CheckTransposed(t.c, t.s), iter: 400, threads: 1);

    [Fact]
    public void Conv2d_and_transpose_match_torch_on_a_deterministic_grid()
    {
        // Square cases, every combination in a small box (no randomness in the geometry).
        long seed = 1;
        for (int n = 1; n <= 6; n++)
        for (int k = 1; k <= 3; k++)
        for (int s = 1; s <= 3; s++)
        for (int p = 0; p <= 2; p++)
        for (int d = 1; d <= 2; d++)
        {
            var c = new ConvCase(n, n, k, k, s, s, p, p, d, d, 0, 0);
            if (ForwardValid(c)) CheckForward(c, seed++);
            if (TransposedValid(c)) CheckTransposed(c, seed++);
        }
    }

    /// <summary>conv_transpose2d(s, p, output_padding &lt; s, d) is the transpose of conv2d(s, p, d) on its output size.</summary>
    [Fact]
    public void Transposed_convolution_matrix_is_the_transpose_of_the_matching_convolution() =>
        Cases.Where(c => TransposedValid(c) && c.OPH < c.SH && c.OPW < c.SW).Sample(c =>
        {
            var t = ConvolutionMatrix.ConvTranspose2d((c.H, c.W), (c.KH, c.KW), (c.SH, c.SW), (c.PH, c.PW), (c.OPH, c.OPW), (c.DH, c.DW));
            var f = t.MatchingConv2d();
            Assert.Equal((c.H, c.W), f.OutputSize);
            Assert.True(t.SameEntries(f.Transpose()), $"transpose identity fails for {c}");
            Assert.True(f.SameEntries(t.Transpose()), $"transpose identity fails for {c}");
        }, iter: 1000, threads: 1);

    [Fact]
    public void Transpose_identity_is_not_vacuous()
    {
        // A different geometry gives a different matrix, so SameEntries can fail.
        var t = ConvolutionMatrix.ConvTranspose2d(3, 3, stride: 2, padding: 1);
        var other = ConvolutionMatrix.Conv2d(t.OutputSize.H, 3, stride: 2, padding: 0);
        Assert.False(t.SameEntries(other.Transpose()));
    }

    /// <summary>Q1.1 by hand: 3x3 input, 3x3 kernel, stride 2, padding 1 gives a 2x2 output, so A is 4x9.</summary>
    [Fact]
    public void Question_1_1_matrix_equals_the_hand_derived_one()
    {
        // Output (0,0) sees the input window rows -1..1, cols -1..1: kernel (1,1) sits on x(0,0), etc.
        // Output (0,1): rows -1..1, cols 1..3; output (1,0): rows 1..3, cols -1..1; output (1,1): rows 1..3, cols 1..3.
        string[,] expected =
        {
            // x00       x01        x02        x10        x11        x12        x20        x21        x22
            { "w_{(1,1)}", "w_{(1,2)}", "0",       "w_{(2,1)}", "w_{(2,2)}", "0",       "0",       "0",       "0" },
            { "0",       "w_{(1,0)}", "w_{(1,1)}", "0",       "w_{(2,0)}", "w_{(2,1)}", "0",       "0",       "0" },
            { "0",       "0",       "0",       "w_{(0,1)}", "w_{(0,2)}", "0",       "w_{(1,1)}", "w_{(1,2)}", "0" },
            { "0",       "0",       "0",       "0",       "w_{(0,0)}", "w_{(0,1)}", "0",       "w_{(1,0)}", "w_{(1,1)}" },
        };
        var a = ConvolutionMatrix.Conv2d(3, 3, stride: 2, padding: 1);
        Assert.Equal(4, a.Rows);
        Assert.Equal(9, a.Columns);
        Assert.Equal(expected, a.ToSymbolic());
        Assert.StartsWith("\\begin{bmatrix} w_{(1,1)} & w_{(1,2)} & 0 & w_{(2,1)}", a.ToLatex());
        Assert.DoesNotContain("\n", a.ToLatex());
        Assert.EndsWith("\\end{bmatrix}", a.ToLatex());
    }

    /// <summary>Q1.2 by hand: 2x2 input, 2x2 kernel, stride 2, no padding: each input scatters a disjoint 2x2 block of the 4x4 output.</summary>
    [Fact]
    public void Question_1_2_matrix_equals_the_hand_derived_one()
    {
        string w00 = "w_{(0,0)}", w01 = "w_{(0,1)}", w10 = "w_{(1,0)}", w11 = "w_{(1,1)}", z = "0";
        string[,] expected =
        {
            // x00  x01  x10  x11       output
            { w00, z,   z,   z },   // y(0,0)
            { w01, z,   z,   z },   // y(0,1)
            { z,   w00, z,   z },   // y(0,2)
            { z,   w01, z,   z },   // y(0,3)
            { w10, z,   z,   z },   // y(1,0)
            { w11, z,   z,   z },   // y(1,1)
            { z,   w10, z,   z },   // y(1,2)
            { z,   w11, z,   z },   // y(1,3)
            { z,   z,   w00, z },   // y(2,0)
            { z,   z,   w01, z },   // y(2,1)
            { z,   z,   z,   w00 }, // y(2,2)
            { z,   z,   z,   w01 }, // y(2,3)
            { z,   z,   w10, z },   // y(3,0)
            { z,   z,   w11, z },   // y(3,1)
            { z,   z,   z,   w10 }, // y(3,2)
            { z,   z,   z,   w11 }, // y(3,3)
        };
        var a = ConvolutionMatrix.ConvTranspose2d(2, 2, stride: 2);
        Assert.Equal(16, a.Rows);
        Assert.Equal(4, a.Columns);
        Assert.Equal(expected, a.ToSymbolic());
    }

    [Fact]
    public void Question_cases_match_torch_numerically_with_a_known_kernel()
    {
        using var scope = NewDisposeScope();
        // Kernel entries 1..9 make every weight's position visible.
        var w = arange(1, 10, dtype: float64).reshape(1, 1, 3, 3);
        var x = arange(1, 10, dtype: float64).reshape(1, 1, 3, 3) * 10;
        var a = ConvolutionMatrix.Conv2d(3, 3, stride: 2, padding: 1);
        var y = nn.functional.conv2d(x, w, null, new long[] { 2, 2 }, new long[] { 1, 1 });
        Assert.True(allclose(matmul(a.ToTensor(w), x.reshape(-1)), y.reshape(-1)));
        // Hand value for output (0,0): w11 x00 + w12 x01 + w21 x10 + w22 x11 = 5*10 + 6*20 + 8*40 + 9*50.
        Assert.Equal(5 * 10 + 6 * 20 + 8 * 40 + 9 * 50, y[0, 0, 0, 0].item<double>());

        var w2 = arange(1, 5, dtype: float64).reshape(1, 1, 2, 2);
        var x2 = arange(1, 5, dtype: float64).reshape(1, 1, 2, 2) * 10;
        var t = ConvolutionMatrix.ConvTranspose2d(2, 2, stride: 2);
        var y2 = nn.functional.conv_transpose2d(x2, w2, null, new long[] { 2, 2 });
        Assert.True(allclose(matmul(t.ToTensor(w2), x2.reshape(-1)), y2.reshape(-1)));
    }

    [Fact]
    public void ToTensor_is_differentiable_in_the_kernel()
    {
        using var scope = NewDisposeScope();
        var w = randn(new long[] { 3, 3 }, dtype: float64, generator: new Generator(7)).requires_grad_();
        var a = ConvolutionMatrix.Conv2d(4, 3, stride: 1, padding: 1);
        a.ToTensor(w).sum().backward();
        // d(sum of A)/dw(i,j) = number of entries of A holding w(i,j), counted from the structure.
        for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
        {
            int count = 0;
            for (int r = 0; r < a.Rows; r++) for (int c = 0; c < a.Columns; c++) if (a.WeightAt(r, c) == (i, j)) count++;
            Assert.Equal(count, w.grad![i, j].item<double>());
        }
    }

    [Fact]
    public void Bad_geometry_gives_specific_errors()
    {
        Assert.Contains("empty output", Assert.Throws<ArgumentException>(() => ConvolutionMatrix.Conv2d(2, 5)).Message);
        Assert.Contains("Stride", Assert.Throws<ArgumentException>(() => ConvolutionMatrix.Conv2d(4, 3, stride: 0)).Message);
        Assert.Contains("output_padding", Assert.Throws<ArgumentException>(() => ConvolutionMatrix.ConvTranspose2d(2, 2, stride: 2, output_padding: 2)).Message);
        var a = ConvolutionMatrix.Conv2d(3, 3);
        Assert.Contains("3x3", Assert.Throws<ArgumentException>(() => a.ToNumeric(new double[2, 2])).Message);
    }
}
