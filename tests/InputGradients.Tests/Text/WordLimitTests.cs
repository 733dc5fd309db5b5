using InputGradients.Text;

namespace InputGradients.Tests.Text;

public class WordLimitTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("one", 1)]
    [InlineData("Deep nets are robust to noise.", 6)]
    [InlineData("- **Bold** claim — with a dash, and $x_1$ maths", 8)]
    [InlineData("  spaced\n\nacross   lines\t", 3)]
    [InlineData("ResNeXt-101 32x48d reaches 85.4% top-1", 5)]
    public void Counts_words_as_a_reader_would(string text, int expected) =>
        Assert.Equal(expected, WordLimit.CountWords(text));

    static string Notebook(params (string type, string source)[] cells)
    {
        var path = Path.Combine(Path.GetTempPath(), $"wordlimit-{Guid.NewGuid():N}.ipynb");
        var json = System.Text.Json.JsonSerializer.Serialize(new
        {
            // As Jupyter stores it: a list of lines, each but the last ending in "\n".
            cells = cells.Select(c => new { cell_type = c.type, metadata = new { }, source = SplitLines(c.source) }),
            metadata = new { },
            nbformat = 4,
            nbformat_minor = 5,
        });
        File.WriteAllText(path, json);
        return path;
    }

    static string[] SplitLines(string text)
    {
        var lines = text.Split('\n');
        return lines.Select((l, i) => i < lines.Length - 1 ? l + "\n" : l).ToArray();
    }

    [Fact]
    public void Answer_text_skips_headings_quotes_other_sections_and_code()
    {
        var path = Notebook(
            ("markdown", "# Title\nintro words here"),
            ("markdown", "## Q5.1 Noise\n> Why is deep learning robust? (question, not counted)\nalpha beta"),
            ("code", "var notCounted = 1;"),
            ("markdown", "gamma"),
            ("markdown", "## Q5.2 Labels\ndelta epsilon zeta"),
            ("markdown", "## Q6 Other\nnot this"));
        try
        {
            Assert.Equal(3, WordLimit.Check(path, 350, "## Q5.1"));
            Assert.Equal(6, WordLimit.Check(path, 350, "## Q5.1", "## Q5.2"));
            var ex = Assert.Throws<CheckFailedException>(() => WordLimit.Check(path, 5, "## Q5.1", "## Q5.2"));
            Assert.Contains("6 words", ex.Message);
            Assert.Throws<InvalidOperationException>(() => WordLimit.Check(path, 350, "## Q9"));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_question_takes_in_its_introduction_and_all_its_parts_up_to_a_heading_naming_no_question()
    {
        var path = Notebook(
            ("markdown", "# Q5 Paper review: *A paper*\nsummary of the paper"),
            ("code", "var notCounted = 1;"),
            ("markdown", "## Q5.1 Noise\n> restated question\nalpha beta"),
            ("markdown", "## Q5.2 Labels\ndelta\n### Word count\nthe limit is explained here"),
            ("markdown", "## Q51 Not part of Q5\nno"),
            ("markdown", "# Q6\nnot this either"));
        try
        {
            Assert.Equal("summary of the paper\nalpha beta\ndelta", WordLimit.AnswerText(path, "Q5"));
            Assert.Equal(7, WordLimit.Check(path, 7, "Q5"));
            Assert.Equal(7, WordLimit.Check(path, 7, "# Q5"));
            Assert.Equal(3, WordLimit.Check(path, 350, "Q5.1", "Q5.2"));
            var ex = Assert.Throws<CheckFailedException>(() => WordLimit.Check(path, 6, "Q5"));
            Assert.Contains("7 words; the limit is 6", ex.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Missing_notebook_is_named()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => WordLimit.Check("no-such.ipynb", 10, "## Q5"));
        Assert.Contains("no-such.ipynb", ex.Message);
    }
}
