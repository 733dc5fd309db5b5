using System.CommandLine;
using Spectre.Console;

namespace NotebookRunner;

/// <summary>The <c>nbrun</c> command line. Exit codes: 0 all notebooks passed, 1 some failed, 2 bad usage or set-up.</summary>
public static class Cli
{
    public const string DefaultOutput = "out/notebooks";
    public const string DefaultNotebooks = "notebooks";
    public const int DefaultTimeoutSeconds = 900;

    public static async Task<int> RunAsync(string[] args, IAnsiConsole? console = null, bool? interactive = null, CancellationToken cancel = default)
    {
        console ??= AnsiConsole.Console;
        var names = new Argument<string[]>("notebooks")
        {
            Description = $"Notebooks to run: paths, names in the notebooks folder (.ipynb optional) or globs such as 'q1*'. Default: every notebook in {DefaultNotebooks}/.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var outOption = new Option<string>("--out", "-o")
        {
            Description = "Folder for the executed copies (written atomically; sources are never modified). It must neither be a source " +
                          "notebook's folder nor contain a source notebook (links resolved); nbrun replaces only files it wrote there itself (listed in " + OutputLedger.FileName + ").",
            DefaultValueFactory = _ => DefaultOutput,
        };
        var timeoutOption = new Option<int>("--timeout")
        {
            Description = "Seconds allowed per notebook before its process tree is killed.",
            DefaultValueFactory = _ => DefaultTimeoutSeconds,
        };
        var dirOption = new Option<string>("--notebooks-dir")
        {
            Description = "Folder searched for notebooks when none or bare names are given.",
            DefaultValueFactory = _ => DefaultNotebooks,
        };
        var plainOption = new Option<bool>("--plain") { Description = "Plain line-by-line progress even on a terminal." };

        var root = new RootCommand("nbrun: execute .NET Polyglot notebooks headless with dotnet repl and write executed copies.")
        {
            names, outOption, timeoutOption, dirOption, plainOption,
        };
        root.SetAction((parse, token) => RunAsync(
            parse.GetValue(names) ?? [], parse.GetValue(outOption)!, parse.GetValue(timeoutOption),
            parse.GetValue(dirOption)!, interactive ?? (!parse.GetValue(plainOption) && IsInteractive(console)), console, token));
        // The one command that writes source notebooks, and only their ids: run after editing or merging notebooks.
        var idFiles = new Argument<string[]>("notebooks") { Description = "Notebooks (.ipynb) to give cell ids.", Arity = ArgumentArity.OneOrMore };
        var ids = new Command("ids", "Adds an nbformat 4.5 id to every cell that lacks one, in place; ids already there are kept.") { idFiles };
        ids.SetAction(parse => AddIds(parse.GetValue(idFiles)!, console));
        root.Subcommands.Add(ids);
        var config = new InvocationConfiguration { Output = new AnsiWriter(console), Error = new AnsiWriter(console) };
        return await root.Parse(args).InvokeAsync(config, cancel);
    }

    static bool IsInteractive(IAnsiConsole console) =>
        !Console.IsOutputRedirected
        && console.Profile.Capabilities.Interactive
        && Environment.GetEnvironmentVariable("CI") is null or "" or "false" or "0";

    static async Task<int> RunAsync(string[] names, string outDir, int timeoutSeconds, string notebooksDir,
        bool interactive, IAnsiConsole console, CancellationToken cancel)
    {
        // Logs (CI) are read with grep: no wrapping at a pretend 80 columns, refusals included.
        if (!interactive) console.Profile.Width = Math.Max(console.Profile.Width, 400);
        List<string> notebooks;
        NotebookExecutor executor;
        try
        {
            if (timeoutSeconds <= 0) throw new RunnerException($"--timeout must be positive, got {timeoutSeconds}");
            notebooks = NotebookSelection.Resolve(names, notebooksDir);
            NotebookExecutor.CheckOutputFolder(outDir, notebooks);
            if (notebooks.Count == 0)
            {
                console.MarkupLineInterpolated($"[yellow]nbrun: no notebooks found in {Path.GetFullPath(notebooksDir)}[/]");
                console.WriteLine(SummaryLine(0, 0));
                return 0;
            }
            var tool = ReplTool.Locate(notebooks.Select(Path.GetDirectoryName).Append(Environment.CurrentDirectory).Append(AppContext.BaseDirectory)!);
            executor = new NotebookExecutor(tool, outDir, TimeSpan.FromSeconds(timeoutSeconds));
            console.MarkupLineInterpolated($"nbrun: {notebooks.Count} notebook(s) -> [bold]{Show(executor.OutputDirectory)}[/] (dotnet-repl {tool.Version}, timeout {timeoutSeconds} s)");
        }
        catch (RunnerException e)
        {
            console.MarkupLineInterpolated($"[red]nbrun: {e.Message}[/]");
            return 2;
        }

        var results = new List<NotebookResult>();
        if (interactive)
        {
            await console.Progress()
                .AutoClear(false)
                .Columns(new SpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var overall = ctx.AddTask($"{notebooks.Count} notebooks", maxValue: notebooks.Count);
                    foreach (var nb in notebooks)
                    {
                        var task = ctx.AddTask(Markup.Escape(Path.GetFileName(nb)), maxValue: 1);
                        task.IsIndeterminate = true;
                        var r = await executor.RunAsync(nb, cancel);
                        results.Add(r);
                        task.IsIndeterminate = false;
                        task.Description = (r.Passed ? "[green]passed[/] " : "[red]FAILED[/] ") + Markup.Escape(Path.GetFileName(nb));
                        task.Value = 1;
                        task.StopTask();
                        overall.Increment(1);
                    }
                });
        }
        else
        {
            for (int i = 0; i < notebooks.Count; i++)
            {
                console.WriteLine($"[{i + 1}/{notebooks.Count}] {Show(notebooks[i])} ...");
                var r = await executor.RunAsync(notebooks[i], cancel);
                results.Add(r);
                console.WriteLine($"[{i + 1}/{notebooks.Count}] {(r.Passed ? "passed" : "FAILED")} {r.Notebook} ({r.Duration.TotalSeconds:0.0} s)");
            }
        }

        PrintSummary(console, results, interactive);
        int passed = results.Count(r => r.Passed), failed = results.Count - passed;
        console.WriteLine(SummaryLine(passed, failed));
        return failed == 0 ? 0 : 1;
    }

    static int AddIds(string[] paths, IAnsiConsole console)
    {
        foreach (var path in paths)
        {
            try
            {
                var nb = NotebookDocument.Load(path);
                int minor = nb["nbformat_minor"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out int m) ? m : 0;
                int added = InputGradients.Shared.Ipynb.AddMissingIds(nb, Path.GetFileName(path));
                if (added > 0 || minor < InputGradients.Shared.Ipynb.IdsSinceMinor)
                    NotebookDocument.WriteAtomically(path, NotebookDocument.Serialize(nb));
                console.WriteLine($"{Show(path)}: {added} id(s) added");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                console.MarkupLineInterpolated($"[red]nbrun ids: {e.Message}[/]");
                return 2;
            }
        }
        return 0;
    }

    /// <summary>Relative to the current folder when inside it, else absolute.</summary>
    public static string Show(string path)
    {
        var rel = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? Path.GetFullPath(path) : rel;
    }

    public static string SummaryLine(int passed, int failed) => $"notebooks: {passed} passed, {failed} failed";

    static void PrintSummary(IAnsiConsole console, List<NotebookResult> results, bool interactive)
    {
        var table = new Table().Border(interactive ? TableBorder.Rounded : TableBorder.Ascii)
            .AddColumn("Notebook").AddColumn("Result").AddColumn(new TableColumn("Time").RightAligned()).AddColumn("Where");
        foreach (var r in results)
        {
            var status = r.Outcome switch
            {
                Outcome.Passed => "[green]passed[/]",
                Outcome.CellFailed => "[red]cell error[/]",
                Outcome.Crashed => $"[red]crashed ({r.ExitCode})[/]",
                Outcome.TimedOut => "[red]timed out[/]",
                _ => "[red]invalid[/]",
            };
            var where = r.Failures.Count > 0
                ? string.Join(", ", r.Failures.Select(f => $"cell {f.Index}"))
                : r.Passed ? (r.OutputPath is null ? "" : Show(r.OutputPath)) : "see below";
            table.AddRow(Markup.Escape(r.Notebook), status, $"{r.Duration.TotalSeconds:0.0} s", Markup.Escape(where));
        }
        console.Write(table);
        foreach (var line in results.SelectMany(r => r.Describe()))
            console.MarkupLineInterpolated($"[red]FAILED[/] {line}");
    }

    /// <summary>Lets System.CommandLine's help and parse errors go through the same console (tests capture it).</summary>
    sealed class AnsiWriter(IAnsiConsole console) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) => console.Write(value.ToString());
        public override void Write(string? value) { if (value is not null) console.Write(new Text(value)); }
        public override void WriteLine(string? value) { Write(value); console.WriteLine(); }
    }
}
