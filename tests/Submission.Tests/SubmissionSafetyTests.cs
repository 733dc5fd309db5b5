using static ToolSupport.Tests.ToolProcess;

namespace Submission.Tests;

/// <summary>
/// submission run as its own process: it knows which notebooks make up the problem set (the repository's notebooks/
/// folder) and refuses a folder that lacks some unless --allow-partial, and it never writes over a notebook it reads.
/// </summary>
public sealed class SubmissionSafetyTests : IDisposable
{
    static readonly string Root = FixturePdf.Root;
    readonly string _dir = Directory.CreateTempSubdirectory("submission-safety-").FullName;
    string Executed => Path.Combine(_dir, "executed");
    string Out => Path.Combine(_dir, "submission");

    public SubmissionSafetyTests() => Directory.CreateDirectory(Executed);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static IEnumerable<string> ProblemSetNames() =>
        Directory.EnumerateFiles(Path.Combine(Root, "notebooks"), "*.ipynb").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    /// <summary>An executed notebook with one sub-question and nothing left to run.</summary>
    void WriteExecuted(string name) => File.WriteAllText(Path.Combine(Executed, name + ".ipynb"), $$$"""
        {"cells":[{"cell_type":"markdown","metadata":{},"source":"## Q9.1 {{{name}}}\nAn answer."},
                  {"cell_type":"code","metadata":{},"execution_count":1,"source":"1 + 1","outputs":[
                    {"output_type":"execute_result","execution_count":1,"metadata":{},"data":{"text/plain":"2"}}]}],
         "metadata":{},"nbformat":4,"nbformat_minor":5}
        """);

    (int Exit, string Text) Submission(params string[] extra) =>
        Run("submission", _dir, ["--notebooks", Executed, "--out", Out, "--root", Root, .. extra]);

    [Fact]
    public void A_folder_with_one_unrelated_notebook_is_refused_naming_what_is_missing()
    {
        WriteExecuted("holiday-photos");
        var before = HashTree(Executed);

        var (exit, text) = Submission();

        Assert.True(exit == 1, text);
        var line = Unwrapped(text);
        Assert.Contains("leaving out holiday-photos: not a notebook of the problem set", line);
        Assert.Contains($"Refusing to build an incomplete submission: {Executed} has no executed copy of {ProblemSetNames().Count()} of the {ProblemSetNames().Count()} problem-set notebooks", line);
        foreach (var name in ProblemSetNames()) Assert.Contains(name, line);
        Assert.Contains("--allow-partial", line);
        Assert.False(File.Exists(Path.Combine(Out, "problem-set-2.pdf")));
        Assert.False(File.Exists(Path.Combine(Out, "code.zip")));
        Assert.Equal(before, HashTree(Executed));
    }

    [Fact]
    public void One_missing_notebook_is_enough_to_refuse()
    {
        var names = ProblemSetNames().ToList();
        foreach (var name in names.Skip(1)) WriteExecuted(name);

        var (exit, text) = Submission();

        Assert.True(exit == 1, text);
        Assert.Contains($"has no executed copy of 1 of the {names.Count} problem-set notebooks ({names[0]};", Unwrapped(text));
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public void Allow_partial_builds_from_the_problem_set_notebooks_present_and_says_it_is_partial()
    {
        var names = ProblemSetNames().ToList();
        WriteExecuted(names[^1]);
        WriteExecuted("holiday-photos");
        var before = HashTree(Executed);

        var (exit, text) = Submission("--allow-partial");

        Assert.True(exit == 0, text);
        Assert.Contains($"PARTIAL submission (--allow-partial): 1 of {names.Count} notebooks; missing {string.Join(", ", names.SkipLast(1))}", Unwrapped(text));
        Assert.True(File.Exists(Path.Combine(Out, "problem-set-2.pdf")));
        Assert.True(File.Exists(Path.Combine(Out, names[^1] + ".pdf")));
        Assert.False(File.Exists(Path.Combine(Out, "holiday-photos.pdf")));
        using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(Out, "code.zip"));
        Assert.Equal([$"notebooks-executed/{names[^1]}.ipynb"], zip.Entries.Select(e => e.FullName).Where(n => n.StartsWith("notebooks-executed/")));
        Assert.Equal(before, HashTree(Executed));
    }

    [Fact]
    public void Allow_partial_still_refuses_a_folder_with_no_problem_set_notebook()
    {
        WriteExecuted("holiday-photos");
        var (exit, text) = Submission("--allow-partial");
        Assert.True(exit == 1, text);
        Assert.Contains($"None of the notebooks in {Executed} is part of the problem set", Unwrapped(text));
        Assert.False(Directory.Exists(Out));
    }

    [Theory]
    [InlineData("the folder itself")]
    [InlineData("a symbolic link to it")]
    public void The_notebooks_folder_is_refused_as_output(string how)
    {
        foreach (var name in ProblemSetNames()) WriteExecuted(name);
        var output = Executed;
        if (how != "the folder itself")
        {
            output = Path.Combine(_dir, "link");
            Link("-s", Executed, output);
        }
        var before = HashTree(Executed);

        var (exit, text) = Run("submission", _dir, "--notebooks", Executed, "--out", output, "--root", Root);

        Assert.True(exit == 1, text);
        Assert.Contains($"submission: --out {output} is the executed notebooks' folder {Executed}; choose another output folder.", Unwrapped(text));
        Assert.Equal(before, HashTree(Executed));
        Assert.Equal(ProblemSetNames().Count(), Directory.EnumerateFileSystemEntries(Executed).Count());   // nothing added
    }

    [Fact]
    public void An_output_pdf_hard_linked_to_an_input_notebook_is_refused()
    {
        var names = ProblemSetNames().ToList();
        foreach (var name in names) WriteExecuted(name);
        Directory.CreateDirectory(Out);
        var input = Path.Combine(Executed, names[0] + ".ipynb");
        Link(input, Path.Combine(Out, names[0] + ".pdf"));   // Chromium would print the PDF into the notebook's inode
        var before = HashTree(Executed);

        var (exit, text) = Submission();

        Assert.True(exit == 1, text);
        Assert.Contains($"refusing to write {Path.Combine(Out, names[0] + ".pdf")}: it is the input notebook {input}", Unwrapped(text));
        Assert.Equal(before, HashTree(Executed));
    }
}
