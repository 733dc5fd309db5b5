namespace Submission.Tests;

public class NotebookHtmlTests
{
    [Theory]
    [InlineData("## Q1.1 Convolution", true)]
    [InlineData("  ## Q4 Conclusion", true)]
    [InlineData("## Q6.A3 Guided backprop", true)]
    [InlineData("## Q6.B12 Texture", true)]
    [InlineData("# Q1 Title", false)]
    [InlineData("### Q1.1 Sub-sub", false)]
    [InlineData("## Quick note", false)]
    public void Recognises_sub_question_headings(string markdown, bool expected) =>
        Assert.Equal(expected, NotebookHtml.IsSubQuestion(markdown));

    [Theory]
    [InlineData("$$x^2$$", "x^2")]
    [InlineData(" $x$ ", "x")]
    [InlineData("\\[a\\]", "a")]
    [InlineData("\\begin{bmatrix}1\\end{bmatrix}", "\\begin{bmatrix}1\\end{bmatrix}")]
    public void Strips_display_delimiters_of_latex_outputs(string latex, string expected) =>
        Assert.Equal(expected, NotebookHtml.StripDisplayDelimiters(latex));

    [Theory]
    [InlineData("## Q3.3 $L$ layers identify $2^{Ld}$ regions", @"\(2^{Ld}\)")]
    [InlineData("Weights $w_{(0,1)}$ and $x_{(2,2)}$", @"\(w_{(0,1)}\)")]
    [InlineData("The ratio is $$A = \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}$$ here", @"\[A = \begin{bmatrix} 1 &amp; 2 \\ 3 &amp; 4 \end{bmatrix}\]")]
    [InlineData("$$\nx^2\n$$", @"\[")]
    public void Maths_in_markdown_reaches_MathJax_intact(string markdown, string expected) =>
        Assert.Contains(expected, NotebookHtml.MarkdownToHtml(markdown));

    [Fact]
    public void A_notebook_with_a_failed_cell_is_refused_and_the_cell_named()
    {
        var dir = Directory.CreateTempSubdirectory("submission-fail-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "Q1-bad.ipynb"), """
                {"cells":[{"cell_type":"code","metadata":{},"source":"throw new Exception();","outputs":[
                  {"output_type":"error","ename":"Exception","evalue":"boom","traceback":[]}]}],
                 "metadata":{},"nbformat":4,"nbformat_minor":5}
                """);
            var ex = Assert.Throws<InvalidOperationException>(() =>
                Builder.RunAsync(new Options(dir, Path.Combine(dir, "out"), dir, "t", ProblemSet: dir), TextWriter.Null).GetAwaiter().GetResult());
            Assert.Contains("Q1-bad, cell 1: Exception: boom", ex.Message);
            Assert.False(Directory.Exists(Path.Combine(dir, "out")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_notebook_that_was_never_run_is_refused_and_scratch_copies_are_ignored()
    {
        var dir = Directory.CreateTempSubdirectory("submission-unrun-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "Q2-unrun.ipynb"), """
                {"cells":[{"cell_type":"code","metadata":{},"execution_count":null,"source":"var answer = 42;","outputs":[]}],
                 "metadata":{},"nbformat":4,"nbformat_minor":4}
                """);
            // A runner's leftover temporary copy with a failed cell: must not be read at all.
            File.WriteAllText(Path.Combine(dir, ".Q2-unrun.123.repl.ipynb"), """
                {"cells":[{"cell_type":"code","metadata":{},"source":"x","outputs":[
                  {"output_type":"error","ename":"E","evalue":"scratch","traceback":[]}]}],"metadata":{},"nbformat":4,"nbformat_minor":4}
                """);
            var ex = Assert.Throws<InvalidOperationException>(() =>
                Builder.RunAsync(new Options(dir, Path.Combine(dir, "out"), dir, "t", ProblemSet: dir), TextWriter.Null).GetAwaiter().GetResult());
            Assert.Contains("not run", ex.Message);
            Assert.Contains("Q2-unrun, cell 1: var answer = 42;", ex.Message);
            Assert.DoesNotContain("scratch", ex.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Code_zip_leaves_out_build_output_and_large_files()
    {
        var root = Directory.CreateTempSubdirectory("zip-root-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "lib", "A", "bin"));
            Directory.CreateDirectory(Path.Combine(root, "lib", "A", "obj"));
            Directory.CreateDirectory(Path.Combine(root, "notebooks"));
            Directory.CreateDirectory(Path.Combine(root, "data"));
            File.WriteAllText(Path.Combine(root, "README.md"), "readme");
            File.WriteAllText(Path.Combine(root, "lib", "A", "A.cs"), "class A {}");
            File.WriteAllText(Path.Combine(root, "lib", "A", "bin", "A.dll"), "binary");
            File.WriteAllText(Path.Combine(root, "lib", "A", "obj", "x.cs"), "generated");
            File.WriteAllBytes(Path.Combine(root, "lib", "A", "weights.bin"), new byte[CodeZip.MaxFileBytes + 1]);
            File.WriteAllText(Path.Combine(root, "notebooks", "Q1.ipynb"), "{}");
            File.WriteAllText(Path.Combine(root, "data", "cat.png"), "image");
            Assert.Equal(["README.md", "lib/A/A.cs", "notebooks/Q1.ipynb"], CodeZip.Files(root).Select(f => f.Replace('\\', '/')).ToArray());
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
