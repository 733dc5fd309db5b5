using ToolSupport;
using static ToolSupport.Tests.ToolProcess;

namespace NotebookRunner.Tests;

/// <summary>The path identity every tool uses to protect its inputs, on real links made with ln.</summary>
public sealed class PathIdentityTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("path-identity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(params string[] parts) => Path.Combine([_dir, .. parts]);

    [Fact]
    public void Same_file_through_a_path_spelling_a_symbolic_link_and_a_hard_link_but_not_a_copy()
    {
        Directory.CreateDirectory(P("sub"));
        File.WriteAllText(P("a.txt"), "same bytes");
        File.WriteAllText(P("copy.txt"), "same bytes");
        Link("-s", P("a.txt"), P("sym.txt"));
        Link(P("a.txt"), P("hard.txt"));

        Assert.True(PathIdentity.SameFile(P("a.txt"), P("sub", "..", "a.txt")));
        Assert.True(PathIdentity.SameFile(P("a.txt"), P("sym.txt")));
        Assert.True(PathIdentity.SameFile(P("hard.txt"), P("sym.txt")));
        Assert.False(PathIdentity.SameFile(P("a.txt"), P("copy.txt")));
        Assert.False(PathIdentity.SameFile(P("a.txt"), P("missing.txt")));
        Assert.False(PathIdentity.SameFile(P("missing.txt"), P("missing.txt")));   // nothing there: nothing to protect
    }

    [Fact]
    public void Real_path_resolves_links_also_for_a_file_not_written_yet()
    {
        Directory.CreateDirectory(P("real"));
        Link("-s", P("real"), P("link"));
        var real = PathIdentity.RealPath(P("real"));
        Assert.Equal(real, PathIdentity.RealPath(P("link")));
        Assert.Equal(Path.Combine(real, "new", "file.txt"), PathIdentity.RealPath(P("link", "new", "file.txt")));
    }

    [Fact]
    public void Inside_a_folder_through_links_at_any_depth()
    {
        Directory.CreateDirectory(P("top", "notebooks"));
        File.WriteAllText(P("top", "notebooks", "a.ipynb"), "{}");
        Link("-s", P("top"), P("top-link"));

        Assert.True(PathIdentity.IsSameOrInside(P("top", "notebooks", "a.ipynb"), P("top-link")));
        Assert.True(PathIdentity.IsSameOrInside(P("top-link", "notebooks"), P("top", "notebooks")));
        Assert.False(PathIdentity.IsSameOrInside(P("top"), P("top", "notebooks")));
        Assert.False(PathIdentity.IsSameOrInside(P("top", "notebooks", "a.ipynb"), P("missing")));
    }
}
