using InputGradients.Theory;

namespace InputGradients.Tests.Theory;

public class LatexTableTests
{
    [Fact]
    public void Anonymous_rows_become_an_array_with_escaped_text()
    {
        var t = new[] { new { n = 2, Known_value = 14L, Ok = true, Name = "a_b & c" } }.ToLatexTable();
        Assert.Equal(new[] { "n", "Known value", "Ok", "Name" }, t.Headers);
        Assert.Equal(
            "\\begin{array}{cccc} \\text{n} & \\text{Known value} & \\text{Ok} & \\text{Name} \\\\ \\hline " +
            "\\text{2} & \\text{14} & \\text{yes} & \\text{a\\_b \\& c} \\\\ \\end{array}", t.ToLatex());
        Assert.Contains("Known value", t.ToString());
    }

    [Fact]
    public void Repeated_dashes_and_quotes_stay_separate_characters()
    {
        // Q3's sign patterns: in one \text group "--" would be typeset as an en dash and "---" as an em dash.
        var t = new[] { new { Region = "R1 ++--", Quote = "''a'' -x" } }.ToLatexTable();
        Assert.Contains("\\text{R1 ++-}\\text{-}", t.ToLatex());
        Assert.Contains("\\text{'}\\text{'a'}\\text{' -x}", t.ToLatex());
        Assert.DoesNotContain("--", t.ToLatex());
        Assert.Contains("R1 ++--", t.ToString());
    }
}
