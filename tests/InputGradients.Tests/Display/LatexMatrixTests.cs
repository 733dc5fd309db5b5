using InputGradients.Display;
using TorchSharp;

namespace InputGradients.Tests.Display;

public class LatexMatrixTests
{
    [Fact]
    public void Symbolic_entries_with_zeros_for_empty_cells()
    {
        var m = LatexMatrix.FromSymbols(new[,] { { "w_{(0,0)}", null }, { "", "w_{(1,1)}" } });
        Assert.Equal(@"\begin{bmatrix} w_{(0,0)} & 0 \\ 0 & w_{(1,1)} \end{bmatrix}", m.ToLatex());
        Assert.Equal(2, m.Rows);
        Assert.Equal(2, m.Columns);
    }

    [Fact]
    public void Name_and_round_brackets()
    {
        var m = LatexMatrix.FromSymbols(new[,] { { "a", "b" } }, name: "C", brackets: MatrixBrackets.Round);
        Assert.Equal(@"C = \begin{pmatrix} a & b \end{pmatrix}", m.ToLatex());
    }

    [Fact]
    public void Numbers_use_the_format_invariantly_and_drop_negative_zero()
    {
        var m = LatexMatrix.FromValues(new[,] { { 1.0, -0.00001 }, { 2.5, -3.25 } }, "0.##");
        Assert.Equal(@"\begin{bmatrix} 1 & 0 \\ 2.5 & -3.25 \end{bmatrix}", m.ToLatex());
        Assert.Equal("[   1      0 ]" + Environment.NewLine + "[ 2.5  -3.25 ]", m.ToString());
    }

    [Fact]
    public void Scientific_format_becomes_times_ten_to_the()
    {
        var m = LatexMatrix.FromValues(new[,] { { 12345.0 } }, "0.0E+0");
        Assert.Equal(@"\begin{bmatrix} 1.2 \times 10^{4} \end{bmatrix}", m.ToLatex());
    }

    [Fact]
    public void Tensor_2d_and_1d_as_column()
    {
        using var t = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }).reshape(2, 3);
        Assert.Equal(@"\begin{bmatrix} 1 & 2 & 3 \\ 4 & 5 & 6 \end{bmatrix}", LatexMatrix.FromTensor(t).ToLatex());
        using var v = torch.tensor(new double[] { 0.5, -1 });
        Assert.Equal(@"\begin{bmatrix} 0.5 \\ -1 \end{bmatrix}", LatexMatrix.FromTensor(v).ToLatex());
        using var bad = torch.zeros(2, 2, 2);
        var e = Assert.Throws<ArgumentException>(() => LatexMatrix.FromTensor(bad));
        Assert.Contains("[2, 2, 2]", e.Message);
    }

    [Fact]
    public void Latex_join_mixes_formulas_and_text()
    {
        var m = LatexMatrix.FromSymbols(new[,] { { "a" } });
        Assert.Equal(@"C = \begin{bmatrix} a \end{bmatrix}", Latex.Join(" ", "C =", m).ToLatex());
    }
}
