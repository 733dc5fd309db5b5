using System.Text.Json.Nodes;

namespace NotebookRunner.Tests;

/// <summary>
/// Post-processing on a recorded dotnet repl output: <c>fixtures/recorded/nuget-install.ipynb</c> run cold with
/// dotnet-repl 0.3.259 gave <c>nuget-install.repl-output.ipynb</c> (4 "Installing Packages" progress updates,
/// 1 "Installed Packages" list, then the cell's value).
/// </summary>
public class NotebookDocumentTests
{
    static JsonObject Recorded => NotebookDocument.Load(Fixtures.Path_("recorded/nuget-install.repl-output.ipynb"));
    static JsonObject RecordedSource => NotebookDocument.Load(Fixtures.Path_("recorded/nuget-install.ipynb"));

    [Fact]
    public void Strips_package_installation_progress_and_keeps_the_cells_own_output()
    {
        var outputs = (JsonArray)NotebookDocument.Cells(Recorded)[0]!["outputs"]!;
        Assert.Equal(6, outputs.Count);
        Assert.Equal(4, outputs.Count(o => o!.ToJsonString().Contains("Installing Packages")));

        var kept = NotebookDocument.StripNoise(outputs);

        var only = Assert.Single(kept);
        Assert.Equal("hello world", string.Concat(only!["data"]!["text/plain"]!.AsArray().Select(l => (string?)l)));
    }

    [Fact]
    public void Keeps_user_output_that_merely_mentions_installing_packages()
    {
        var html = JsonNode.Parse("""
            {"output_type": "display_data", "metadata": {},
             "data": {"text/html": ["<div><strong>Installing Packages</strong> is what #r \"nuget:\" does</div>"]}}
            """)!.AsObject();
        var plain = JsonNode.Parse("""
            {"output_type": "display_data", "metadata": {}, "data": {"text/plain": ["Installed Packages: see above"]}}
            """)!.AsObject();
        Assert.False(NotebookDocument.IsPackageNoise(html));
        Assert.False(NotebookDocument.IsPackageNoise(plain));
        Assert.False(NotebookDocument.IsPackageNoise(JsonNode.Parse("""{"output_type": "stream", "name": "stdout", "text": "Installing Packages"}""")!.AsObject()));
    }

    [Fact]
    public void Merge_keeps_the_source_cells_and_restores_counts_without_touching_the_source()
    {
        var source = RecordedSource;
        var sourceText = source.ToJsonString();
        source["cells"]![0]!["id"] = "my-cell";
        sourceText = source.ToJsonString();

        var merged = NotebookDocument.Merge(source, Recorded, "nuget-install.ipynb");

        Assert.Equal(sourceText, source.ToJsonString());
        var cell = NotebookDocument.Cells(merged)[0]!;
        Assert.Equal("my-cell", (string?)cell["id"]);
        Assert.Equal(1, cell["execution_count"]!.GetValue<int>());
        Assert.Single(cell["outputs"]!.AsArray());
        Assert.Null(cell["metadata"]!["dotnet_repl_cellExecutionStartTime"]);
        Assert.Equal(source["metadata"]!.ToJsonString(), merged["metadata"]!.ToJsonString());
    }

    [Fact]
    public void Merge_gives_an_id_to_a_source_cell_without_one_and_the_same_id_every_run()
    {
        var source = RecordedSource;
        Assert.Null(NotebookDocument.Cells(source)[0]!["id"]);
        var first = NotebookDocument.Merge(source, Recorded, "nuget-install.ipynb");
        var again = NotebookDocument.Merge(source, Recorded, "nuget-install.ipynb");
        var id = (string?)NotebookDocument.Cells(first)[0]!["id"];
        Assert.Matches("^[A-Za-z0-9_-]{1,64}$", id);
        Assert.Equal(id, (string?)NotebookDocument.Cells(again)[0]!["id"]);
        Assert.True((int?)first["nbformat_minor"] >= 5);
        Assert.Null(NotebookDocument.Cells(source)[0]!["id"]);   // the source is not touched
    }

    [Fact]
    public void Merge_rejects_an_output_whose_cells_do_not_match_the_source()
    {
        var source = RecordedSource;
        source["cells"]![0]!["source"] = "Console.WriteLine(1);";
        var e = Assert.Throws<InvalidDataException>(() => NotebookDocument.Merge(source, Recorded, "x.ipynb"));
        Assert.Contains("x.ipynb", e.Message);
    }

    [Fact]
    public void Failures_name_cell_position_id_first_line_and_message()
    {
        var nb = JsonNode.Parse("""
            {"cells": [
              {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# title"},
              {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 1, "source": ["\n", "  var y = Boom();\n", "more"],
               "outputs": [{"output_type": "error", "ename": "Error", "evalue": "System.Exception: bang\n   at Submission#3", "traceback": []}]}
            ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """)!.AsObject();
        var f = Assert.Single(NotebookDocument.Failures(nb));
        Assert.Equal("cell 2 [id c] `  var y = Boom();`: Error: System.Exception: bang", f.Describe());
    }

    [Fact]
    public void Atomic_write_leaves_only_the_target()
    {
        var dir = Directory.CreateTempSubdirectory("nbrun-atomic-").FullName;
        try
        {
            var path = Path.Combine(dir, "a.ipynb");
            File.WriteAllText(path, "old");
            NotebookDocument.WriteAtomically(path, "new");
            Assert.Equal("new", File.ReadAllText(path));
            Assert.Equal(new[] { path }, Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }
}

public class NotebookSelectionTests
{
    [Fact]
    public void Resolves_all_names_and_globs()
    {
        using var s = new Scratch("pass.ipynb", "throws.ipynb", "sleeps.ipynb");
        File.WriteAllText(Path.Combine(s.Notebooks, "notes.txt"), "not a notebook");
        string Name(string p) => Path.GetFileName(p);

        Assert.Equal(["pass.ipynb", "sleeps.ipynb", "throws.ipynb"], NotebookSelection.Resolve([], s.Notebooks).Select(Name));
        Assert.Equal(["pass.ipynb"], NotebookSelection.Resolve(["pass"], s.Notebooks).Select(Name));
        Assert.Equal(["sleeps.ipynb", "throws.ipynb"], NotebookSelection.Resolve(["*e*", "t?rows.ipynb"], s.Notebooks).Select(Name));
        Assert.Equal(["pass.ipynb"], NotebookSelection.Resolve([Path.Combine(s.Notebooks, "p*")], "elsewhere").Select(Name));
        Assert.Throws<RunnerException>(() => NotebookSelection.Resolve(["q9*"], s.Notebooks));
        Assert.Empty(NotebookSelection.Resolve([], Path.Combine(s.Root, "missing")));
    }
}
