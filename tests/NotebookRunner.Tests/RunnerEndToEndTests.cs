using System.Diagnostics;
using System.Text.Json.Nodes;

namespace NotebookRunner.Tests;

/// <summary>
/// nbrun's command line on fixture notebooks, with the real dotnet repl from the repository's tool manifest.
/// One class so the kernels run one after another (2 shared cores).
/// </summary>
public class RunnerEndToEndTests
{
    [Fact]
    public async Task Reports_the_failing_cell_and_the_crash_writes_passing_copies_and_leaves_sources_untouched()
    {
        using var s = new Scratch("pass.ipynb", "throws.ipynb", "crash.ipynb");
        Directory.CreateDirectory(s.Out);
        // A stale copy from an earlier run, recorded as nbrun's own (the ledger's sha256sum format).
        File.WriteAllText(Path.Combine(s.Out, "crash.ipynb"), "stale copy from an earlier run");
        File.WriteAllText(Path.Combine(s.Out, OutputLedger.FileName), $"{ToolSupport.Tests.ToolProcess.Hash(Path.Combine(s.Out, "crash.ipynb")).ToLowerInvariant()}  crash.ipynb\n");
        var before = s.HashSources();

        var (exit, text) = await CliRunner.Run("--out", s.Out, "--timeout", "300",
            s.Notebook("pass.ipynb"), s.Notebook("throws.ipynb"), s.Notebook("crash.ipynb"));

        Assert.Equal(before, s.HashSources());
        Assert.Equal(1, exit);
        Assert.Equal("notebooks: 1 passed, 2 failed", CliRunner.LastLine(text));
        // The throwing cell is named by position, id, first line and the exception's message.
        Assert.Contains("throws.ipynb: cell 3 [id bad] `// this cell fails on purpose`: ", text);
        Assert.Contains("System.InvalidOperationException: fixture failure 42", text);
        // The crash: no output, the stale copy is gone, and the running cell is named from the kernel log.
        Assert.Contains("crash.ipynb: kernel crashed in cell 2 `// kills the kernel process, as a native crash would`", text);
        Assert.Contains("exit code 134", text);
        Assert.False(File.Exists(Path.Combine(s.Out, "crash.ipynb")));

        // Executed copies: same cells and ids as the source, outputs in the code cells, counts restored.
        var source = NotebookDocument.Load(s.Notebook("pass.ipynb"));
        var executed = NotebookDocument.Load(Path.Combine(s.Out, "pass.ipynb"));
        var srcCells = NotebookDocument.Cells(source);
        var outCells = NotebookDocument.Cells(executed);
        Assert.Equal(srcCells.Select(c => (string?)c!["id"]), outCells.Select(c => (string?)c!["id"]));
        Assert.Equal(srcCells.Select(NotebookDocument.Source!), outCells.Select(NotebookDocument.Source!));
        Assert.Equal(new int?[] { 1, null, 2 },
            outCells.Where(c => NotebookDocument.CellType(c!) == "code").Select(c => c!["execution_count"]?.GetValue<int>()));
        Assert.Contains("cwd ok", OutputText(outCells[1]!));          // ran with the notebook's folder as current folder
        Assert.Contains("1,4,9,16", OutputText(outCells[3]!));
        Assert.Contains("30", OutputText(outCells[3]!));
        Assert.Null(outCells[1]!["metadata"]!["dotnet_repl_cellExecutionStartTime"]);

        // A notebook with a failing cell still gets its executed copy, with later cells run.
        var thrown = NotebookDocument.Cells(NotebookDocument.Load(Path.Combine(s.Out, "throws.ipynb")));
        Assert.Equal("error", (string?)thrown[2]!["outputs"]![0]!["output_type"]);
        Assert.Contains("still runs", OutputText(thrown[3]!));

        // Nothing half-written is left behind; the ledger lists this run's copies and no longer the deleted stale one.
        Assert.Equal([OutputLedger.FileName, "pass.ipynb", "throws.ipynb"], Directory.EnumerateFiles(s.Out).Select(Path.GetFileName).Order());
        var ledger = File.ReadAllLines(Path.Combine(s.Out, OutputLedger.FileName)).Select(l => l.Split("  ")[1]).ToList();
        Assert.Contains("pass.ipynb", ledger);
        Assert.Contains("throws.ipynb", ledger);
        Assert.DoesNotContain("crash.ipynb", ledger);
    }

    [Fact]
    public async Task A_hanging_cell_times_out_names_the_cell_and_kills_the_process_tree()
    {
        using var s = new Scratch("sleeps.ipynb");
        var before = s.HashSources();
        var clock = Stopwatch.StartNew();

        var (exit, text) = await CliRunner.Run("--out", s.Out, "--timeout", "30", s.Notebook("sleeps.ipynb"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"took {clock.Elapsed}");
        Assert.Equal(1, exit);
        Assert.True(text.Contains("sleeps.ipynb: timed out after 30 s in cell 2 `// never finishes within the test's timeout`"), text);
        Assert.Equal("notebooks: 0 passed, 1 failed", CliRunner.LastLine(text));
        Assert.False(File.Exists(Path.Combine(s.Out, "sleeps.ipynb")));
        Assert.Equal(before, s.HashSources());
        if (Directory.Exists("/proc"))
            Assert.Empty(ProcessesMentioning(s.Notebook("sleeps.ipynb")));
    }

    [Fact]
    public async Task Refuses_an_output_folder_that_would_overwrite_the_sources()
    {
        using var s = new Scratch("pass.ipynb");
        var before = s.HashSources();

        var (exit, text) = await CliRunner.Run("--out", s.Notebooks, s.Notebook("pass.ipynb"));

        Assert.Equal(2, exit);
        Assert.Contains("would overwrite the source notebook", text);
        Assert.Equal(before, s.HashSources());
    }

    [Fact]
    public async Task Names_a_missing_notebook()
    {
        using var s = new Scratch("pass.ipynb");
        var (exit, text) = await CliRunner.Run("--out", s.Out, "--notebooks-dir", s.Notebooks, "no-such-notebook");
        Assert.Equal(2, exit);
        Assert.Contains("no notebook named no-such-notebook", text);
    }

    static string OutputText(JsonNode cell) => cell["outputs"]!.ToJsonString();

    static List<int> ProcessesMentioning(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(text)) found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }
}
