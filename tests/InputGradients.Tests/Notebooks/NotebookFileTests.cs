using System.Text.Json.Nodes;
using InputGradients.Shared;

namespace InputGradients.Tests.Notebooks;

/// <summary>
/// The notebooks as saved open cleanly in VS Code's Polyglot Notebooks: C# kernel metadata, a language on every code
/// cell, unique nbformat 4.5 cell ids, no outputs; and before <c>./run build</c> the first code cell says to build.
/// </summary>
public class NotebookFileTests
{
    static readonly string NotebooksFolder = Path.Combine(TestPaths.Root, "notebooks");
    const string LibraryDll = "../artifacts/bin/InputGradients.Interactive/debug/InputGradients.Interactive.dll";

    static IEnumerable<string> Names() =>
        Directory.GetFiles(NotebooksFolder, "*.ipynb").Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal);

    public static TheoryData<string> Notebooks => new(Names());

    static JsonObject Load(string name) => Ipynb.Load(Path.Combine(NotebooksFolder, name));

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_is_saved_as_VS_Code_expects(string name)
    {
        var nb = Load(name);
        Assert.Equal(4, (int?)nb["nbformat"]);
        Assert.True((int?)nb["nbformat_minor"] >= Ipynb.IdsSinceMinor, $"{name}: nbformat_minor below 5 (no cell ids); run ./run cell-ids");
        Assert.Equal(".net-csharp", (string?)nb["metadata"]?["kernelspec"]?["name"]);
        Assert.Equal("csharp", (string?)nb["metadata"]?["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]);
        var ids = new HashSet<string>();
        var cells = Ipynb.Cells(nb);
        for (int i = 0; i < cells.Count; i++)
        {
            var cell = cells[i]!;
            var where = $"{name}, cell {i + 1}";
            var id = Ipynb.Id(cell);
            Assert.True(Ipynb.IsValidId(id), $"{where}: no valid id ({id ?? "none"}); run ./run cell-ids");
            Assert.True(ids.Add(id!), $"{where}: id {id} is used twice; run ./run cell-ids");
            if (Ipynb.CellType(cell) != "code") continue;
            Assert.Equal("csharp", (string?)cell["metadata"]?["dotnet_interactive"]?["language"]);
            Assert.Equal("csharp", (string?)cell["metadata"]?["polyglot_notebook"]?["kernelName"]);
            Assert.True(cell["outputs"] is JsonArray { Count: 0 }, $"{where}: saved with outputs");
            Assert.Null(Ipynb.ExecutionCount(cell));
        }
    }

    /// <summary>The first code cell of every notebook is the same build check, right before the #r it protects.</summary>
    [Fact]
    public void Every_notebook_starts_with_the_same_build_check()
    {
        var firsts = Names().Select(name => (name, cells: VsCodeKernelTests.CodeCells(Path.Combine(NotebooksFolder, name)))).ToList();
        Assert.NotEmpty(firsts);
        foreach (var (name, cells) in firsts)
        {
            Assert.True(firsts[0].cells[0] == cells[0], $"{name}: its first code cell differs from {firsts[0].name}'s");
            Assert.Contains($"File.Exists(\"{LibraryDll}\")", cells[0]);
            Assert.StartsWith($"#r \"{LibraryDll}\"", cells[1]);
        }
    }

    /// <summary>
    /// The kernel VS Code starts, in a folder laid out like notebooks/ but with nothing built beside it: the first cell
    /// fails with one line that says to run ./run build. In notebooks/ (built) the same cell passes.
    /// </summary>
    [Fact]
    public void Before_the_build_the_first_cell_says_to_run_the_build()
    {
        var guard = VsCodeKernelTests.CodeCells(Path.Combine(NotebooksFolder, "Q1-convolution.ipynb"))[0];
        // Inside the repository (so `dotnet tool run` finds the pinned kernel), where ../artifacts does not exist.
        var unbuilt = Path.Combine(TestPaths.Root, "out", "test-unbuilt", Guid.NewGuid().ToString("N"), "notebooks");
        Directory.CreateDirectory(unbuilt);
        try
        {
            Assert.False(File.Exists(Path.Combine(unbuilt, LibraryDll)));
            string message;
            using (var kernel = new StdioKernel(unbuilt))
            {
                var events = kernel.Submit(guard, TimeSpan.FromMinutes(3));
                var failed = events.Single(e => (string?)e["eventType"] == "CommandFailed");
                message = (string?)failed["event"]?["message"] ?? "";
            }
            Assert.DoesNotContain('\n', message);
            Assert.Contains("run ./run build", message);
            using (var kernel = new StdioKernel(NotebooksFolder))
                Assert.DoesNotContain(kernel.Submit(guard, TimeSpan.FromMinutes(3)), e => (string?)e["eventType"] is "CommandFailed" or "ErrorProduced");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(unbuilt)!, recursive: true);
        }
    }
}
