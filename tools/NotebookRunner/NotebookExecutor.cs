using System.Diagnostics;
using System.Text;
using ToolSupport;

namespace NotebookRunner;

public enum Outcome { Passed, CellFailed, Crashed, TimedOut, Invalid }

public sealed record NotebookResult(
    string Notebook,
    Outcome Outcome,
    TimeSpan Duration,
    int? ExitCode,
    string? OutputPath,
    IReadOnlyList<CellFailure> Failures,
    string? Message)
{
    public bool Passed => Outcome == Outcome.Passed;

    /// <summary>One or more lines naming the notebook and the cell.</summary>
    public IEnumerable<string> Describe()
    {
        if (Passed) yield break;
        if (Failures.Count > 0)
            foreach (var f in Failures) yield return $"{Notebook}: {f.Describe()}";
        else
            yield return $"{Notebook}: {Message}";
    }
}

/// <summary>Runs one notebook with dotnet repl and writes its executed copy.</summary>
public sealed class NotebookExecutor(ReplTool tool, string outputDirectory, TimeSpan timeout)
{
    public string OutputDirectory { get; } = Path.GetFullPath(outputDirectory);

    readonly OutputLedger _ledger = new(outputDirectory);

    public string OutputPathFor(string notebook) => OutputPathFor(OutputDirectory, notebook);

    public static string OutputPathFor(string outputDirectory, string notebook) =>
        Path.Combine(Path.GetFullPath(outputDirectory), Path.GetFileName(notebook));

    /// <summary>Where the kernel's console output goes when it printed any.</summary>
    public static string LogPathFor(string outputDirectory, string notebook) =>
        Path.Combine(Path.GetFullPath(outputDirectory), "logs", Path.GetFileNameWithoutExtension(notebook) + ".log");

    /// <summary>
    /// Throws unless running <paramref name="notebooks"/> into <paramref name="outputDirectory"/> is safe: the folder
    /// must not be a source notebook's own folder, nor contain a source notebook, links resolved (a symbolic link to the
    /// notebooks folder is that folder); no output may be a hard link to a source; and every file nbrun would replace
    /// there must be one it wrote itself (<see cref="OutputLedger"/>).
    /// </summary>
    public static void CheckOutputFolder(string outputDirectory, IReadOnlyList<string> notebooks)
    {
        var outDir = Path.GetFullPath(outputDirectory);
        foreach (var nb in notebooks)
        {
            var output = OutputPathFor(outDir, nb);
            var folder = Path.GetDirectoryName(Path.GetFullPath(nb))!;
            if (PathIdentity.SameFile(outDir, folder) || PathIdentity.SameFile(output, nb))
            {
                var how = PathIdentity.SameFile(outDir, folder)
                    ? outDir == folder ? "" : $" (--out {Cli.Show(outDir)} is {Cli.Show(folder)} through a link)"
                    : " (a hard link to it)";
                throw new RunnerException($"refusing to run: the output {Cli.Show(output)} would overwrite the source notebook {Cli.Show(nb)}{how}; choose another --out");
            }
            if (PathIdentity.IsSameOrInside(nb, outDir))
                throw new RunnerException($"refusing to run: the output folder {Cli.Show(outDir)} contains the source notebook {Cli.Show(nb)}; choose another --out");
        }
        var ledger = new OutputLedger(outDir);
        foreach (var nb in notebooks)
            foreach (var path in new[] { OutputPathFor(outDir, nb), LogPathFor(outDir, nb) })
                if (!ledger.MayReplace(path))
                    throw new RunnerException($"refusing to run: {Cli.Show(path)} {ledger.WhyNotOwned(path)}; move it away or choose another --out");
    }

    public async Task<NotebookResult> RunAsync(string notebook, CancellationToken cancel = default)
    {
        notebook = Path.GetFullPath(notebook);
        var name = Cli.Show(notebook);
        var output = OutputPathFor(notebook);
        var clock = Stopwatch.StartNew();
        System.Text.Json.Nodes.JsonObject source;
        try
        {
            CheckOutputFolder(OutputDirectory, [notebook]);   // Cli checked all of them first; the folder may have changed since
            source = NotebookDocument.Load(notebook);
            Directory.CreateDirectory(OutputDirectory);
            // A stale copy from an earlier run must not pass for this run's result if the kernel dies. Only nbrun's own
            // earlier output is deleted (CheckOutputFolder refused anything else).
            _ledger.DeleteOwn(output);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or RunnerException)
        {
            return new NotebookResult(name, Outcome.Invalid, clock.Elapsed, null, null, [], e.Message);
        }

        var stem = Path.GetFileNameWithoutExtension(notebook);
        // Fresh names, so the only files removed below are the ones this run made.
        var replOutput = Path.Combine(OutputDirectory, $".{stem}.{Environment.ProcessId}.{Guid.NewGuid():N}.repl.ipynb");
        var kernelLogs = Path.Combine(Path.GetTempPath(), $"nbrun-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var consoleLog = LogPathFor(OutputDirectory, notebook);
        Directory.CreateDirectory(Path.GetDirectoryName(consoleLog)!);

        try
        {
            var (exit, timedOut, console) = await StartAndWaitAsync(notebook, replOutput, kernelLogs, cancel);
            _ledger.DeleteOwn(consoleLog);
            if (console.Length > 0)
            {
                NotebookDocument.WriteAtomically(consoleLog, console);
                _ledger.Record(consoleLog);
            }
            var elapsed = clock.Elapsed;

            if (timedOut || !File.Exists(replOutput))
            {
                var cell = KernelLog.LastStartedCell(source, KernelLog.ReadAll(kernelLogs));
                var where = cell is int i
                    ? $"in cell {i} `{NotebookDocument.FirstLine(NotebookDocument.Cells(source)[i - 1]!)}`"
                    : "before any cell started";
                if (timedOut)
                    return new NotebookResult(name, Outcome.TimedOut, elapsed, null, null, [],
                        $"timed out after {timeout.TotalSeconds:0} s {where} (process tree killed; raise with --timeout)");
                var head = Head(console, 2);
                return new NotebookResult(name, Outcome.Crashed, elapsed, exit, null, [],
                    $"kernel crashed {where}: exit code {exit}{Signal(exit)}, no output written" +
                    (head.Length > 0 ? $"\n    {head.Replace("\n", "\n    ")}" : "") + $"\n    (full log: {Cli.Show(consoleLog)})");
            }

            var executed = NotebookDocument.Load(replOutput);
            var merged = NotebookDocument.Merge(source, executed, name);
            NotebookDocument.WriteAtomically(output, NotebookDocument.Serialize(merged));
            _ledger.Record(output);
            var failures = NotebookDocument.Failures(merged);
            if (failures.Count > 0)
                return new NotebookResult(name, Outcome.CellFailed, elapsed, exit, output, failures, null);
            if (exit != 0)
                return new NotebookResult(name, Outcome.CellFailed, elapsed, exit, output, [],
                    $"dotnet repl exited with {exit} but no cell has an error output (log: {Cli.Show(consoleLog)})");
            return new NotebookResult(name, Outcome.Passed, elapsed, exit, output, [], null);
        }
        catch (Exception e) when (e is InvalidDataException or RunnerException)
        {
            return new NotebookResult(name, Outcome.Invalid, clock.Elapsed, null, null, [], e.Message);
        }
        finally
        {
            File.Delete(replOutput);
            try { Directory.Delete(kernelLogs, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    async Task<(int? Exit, bool TimedOut, string Console)> StartAndWaitAsync(
        string notebook, string replOutput, string kernelLogs, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            // Relative #r paths in the notebook resolve against this.
            WorkingDirectory = Path.GetDirectoryName(notebook)!,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { tool.EntryAssembly, "--run", notebook, "--exit-after-run", "--output-path", replOutput, "--log-path", kernelLogs })
            psi.ArgumentList.Add(a);

        var console = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (console) console.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (console) console.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync(CancellationToken.None);
            cancel.ThrowIfCancellationRequested();
            lock (console) return (null, true, console.ToString());
        }
        process.WaitForExit(); // flushes the redirected streams
        lock (console) return (process.ExitCode, false, console.ToString());
    }

    static string Signal(int? exit) => exit switch
    {
        134 => " (SIGABRT: aborted, e.g. Environment.FailFast or a native abort)",
        137 => " (SIGKILL: killed, possibly out of memory)",
        139 => " (SIGSEGV: native segmentation fault)",
        _ => "",
    };

    static string Head(string text, int lines) =>
        string.Join("\n", text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).Take(lines));
}
