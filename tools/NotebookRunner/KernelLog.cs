using System.Text.Json.Nodes;

namespace NotebookRunner;

/// <summary>
/// When the kernel process dies (native crash, timeout) dotnet repl writes no notebook, so the running cell is
/// recovered from its <c>--log-path</c> log, which is written as commands arrive. Each cell shows up as a top-level
/// <c>[KernelInvocationContext] ... SubmitCode &lt;first line&gt;[ ...] (Token: ...</c> line.
/// </summary>
public static class KernelLog
{
    const string Marker = "[KernelInvocationContext] [KernelInvocationContext]";
    const string Submit = "SubmitCode ";

    /// <summary>The first line of every cell submitted, in order, as the log shows it.</summary>
    public static List<string> SubmittedCells(IEnumerable<string> logLines)
    {
        var shown = new List<string>();
        foreach (var line in logLines)
        {
            int m = line.IndexOf(Marker, StringComparison.Ordinal);
            if (m < 0 || !line.Contains('▶')) continue;
            int s = line.IndexOf(Submit, m, StringComparison.Ordinal);
            int t = line.LastIndexOf(" (Token: ", StringComparison.Ordinal);
            if (s < 0 || t < s) continue;
            var text = line[(s + Submit.Length)..t];
            if (text.EndsWith(" ...", StringComparison.Ordinal)) text = text[..^4];
            shown.Add(text.Trim());
        }
        return shown;
    }

    /// <summary>
    /// The 1-based index (among all cells) of the last code cell the kernel started, matching submissions to code
    /// cells in order by their first line; null if the log says nothing usable.
    /// </summary>
    public static int? LastStartedCell(JsonObject source, IEnumerable<string> logLines)
    {
        var submitted = SubmittedCells(logLines);
        var cells = NotebookDocument.Cells(source);
        int next = 0;
        int? last = null;
        foreach (var shown in submitted)
        {
            for (int i = next; i < cells.Count; i++)
            {
                var cell = cells[i]!;
                if (NotebookDocument.CellType(cell) != "code") continue;
                var src = NotebookDocument.Source(cell).Replace("\r\n", "\n").TrimStart();
                var firstLine = src.Split('\n')[0].Trim();
                if (shown.Length > 0 && (firstLine == shown || firstLine.StartsWith(shown, StringComparison.Ordinal)))
                {
                    last = i + 1;
                    next = i + 1;
                    break;
                }
            }
        }
        return last;
    }

    public static IEnumerable<string> ReadAll(string logDirectory) =>
        Directory.Exists(logDirectory)
            ? Directory.EnumerateFiles(logDirectory, "*.log").Order().SelectMany(ReadShared)
            : [];

    static IEnumerable<string> ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line) yield return line;
    }
}
