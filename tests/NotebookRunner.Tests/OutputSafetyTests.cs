using static ToolSupport.Tests.ToolProcess;

namespace NotebookRunner.Tests;

/// <summary>
/// nbrun run as its own process must never delete or overwrite a source notebook or any file it did not write, however
/// the output folder reaches them (a symbolic link to the notebooks folder, a folder holding them, a hard link, a
/// user's file with an output's name). The notebook used crashes its kernel, the case that deletes outputs.
/// </summary>
public class OutputSafetyTests
{
    [Fact]
    public void A_symbolic_link_to_the_notebooks_folder_is_refused_as_output_and_the_sources_stay()
    {
        using var s = new Scratch("crash.ipynb", "pass.ipynb");
        var link = Path.Combine(s.Root, "out-link");
        Link("-s", s.Notebooks, link);
        var before = s.HashSources();

        var (exit, text) = Run("nbrun", s.Root, "--out", "out-link", "--plain", s.Notebook("crash.ipynb"));

        Assert.Equal(before, s.HashSources());
        Assert.True(exit == 2, text);
        Assert.Contains("nbrun: refusing to run: the output", text);
        // Paths are shown relative to the current folder (here the scratch root), as a user typed them.
        Assert.Contains("the output out-link/crash.ipynb would overwrite the source notebook notebooks/crash.ipynb " +
                        "(--out out-link is notebooks through a link); choose another --out", Unwrapped(text));
    }

    [Fact]
    public void An_output_folder_containing_the_notebooks_folder_is_refused()
    {
        using var s = new Scratch("crash.ipynb");
        var before = s.HashSources();

        var (exit, text) = Run("nbrun", s.Root, "--out", s.Root, "--plain", s.Notebook("crash.ipynb"));

        Assert.Equal(before, s.HashSources());
        Assert.True(exit == 2, text);
        Assert.Contains("the output folder . contains the source notebook notebooks/crash.ipynb; choose another --out", Unwrapped(text));
    }

    [Fact]
    public void An_output_file_hard_linked_to_the_source_is_refused()
    {
        using var s = new Scratch("crash.ipynb");
        Directory.CreateDirectory(s.Out);
        Link(s.Notebook("crash.ipynb"), Path.Combine(s.Out, "crash.ipynb"));
        var before = s.HashSources();

        var (exit, text) = Run("nbrun", s.Root, "--out", s.Out, "--plain", s.Notebook("crash.ipynb"));

        Assert.Equal(before, s.HashSources());
        Assert.True(exit == 2, text);
        Assert.Contains("the output out/crash.ipynb would overwrite the source notebook notebooks/crash.ipynb (a hard link to it)", Unwrapped(text));
        Assert.True(File.Exists(Path.Combine(s.Out, "crash.ipynb")));
    }

    [Fact]
    public void An_earlier_output_changed_since_nbrun_wrote_it_is_kept()
    {
        using var s = new Scratch("crash.ipynb");
        Directory.CreateDirectory(s.Out);
        var copy = Path.Combine(s.Out, "crash.ipynb");
        File.WriteAllText(copy, "as nbrun wrote it");
        File.WriteAllText(Path.Combine(s.Out, OutputLedger.FileName), $"{Hash(copy).ToLowerInvariant()}  crash.ipynb\n");
        File.WriteAllText(copy, "edited by hand afterwards");

        var (exit, text) = Run("nbrun", s.Root, "--out", s.Out, "--plain", s.Notebook("crash.ipynb"));

        Assert.True(exit == 2, text);
        Assert.Contains("refusing to run: out/crash.ipynb was changed since nbrun wrote it; move it away or choose another --out", Unwrapped(text));
        Assert.Equal("edited by hand afterwards", File.ReadAllText(copy));
    }

    [Theory]
    [InlineData("crash.ipynb")]
    [InlineData("logs/crash.log")]
    public void A_file_nbrun_did_not_write_is_never_deleted(string name)
    {
        using var s = new Scratch("crash.ipynb");
        var mine = Path.Combine(s.Out, name);
        Directory.CreateDirectory(Path.GetDirectoryName(mine)!);
        File.WriteAllText(mine, "the user's own file, not an earlier nbrun output");
        var before = s.HashSources();

        var (exit, text) = Run("nbrun", s.Root, "--out", s.Out, "--plain", s.Notebook("crash.ipynb"));

        Assert.True(exit == 2, text);
        Assert.Contains($"refusing to run: out/{name} exists and nbrun did not write it (see {OutputLedger.FileName} there)", Unwrapped(text));
        Assert.Equal("the user's own file, not an earlier nbrun output", File.ReadAllText(mine));
        Assert.Equal(before, s.HashSources());
    }
}
