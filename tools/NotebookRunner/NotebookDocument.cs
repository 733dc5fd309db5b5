using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InputGradients.Shared;

namespace NotebookRunner;

/// <summary>A cell that produced an <c>error</c> output.</summary>
/// <param name="Index">1-based position among all cells of the notebook (markdown included), as an editor shows it.</param>
public sealed record CellFailure(int Index, string? CellId, string FirstLine, string Error)
{
    public string Describe() =>
        $"cell {Index}{(CellId is null ? "" : $" [id {CellId}]")} `{FirstLine}`: {Error}";
}

/// <summary>Merging and cleaning .ipynb documents for nbrun; reading and writing them is <see cref="Ipynb"/>'s.</summary>
public static partial class NotebookDocument
{
    public static JsonObject Load(string path) => Ipynb.Load(path);

    public static string Serialize(JsonObject nb) => Ipynb.Serialize(nb);

    public static JsonArray Cells(JsonObject nb) => Ipynb.Cells(nb);

    public static string CellType(JsonNode cell) => Ipynb.CellType(cell);

    public static string Source(JsonNode cell) => Ipynb.Source(cell);

    public static string FirstLine(JsonNode cell)
    {
        var first = Source(cell).Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.Trim().Length > 0) ?? "";
        return first.Length > 100 ? first[..97] + "..." : first;
    }

    static string JoinText(JsonNode? node) => Ipynb.Text(node);

    /// <summary>
    /// The executed copy: the source notebook unchanged (ids, metadata, markdown) except that each code cell gets
    /// the outputs dotnet repl recorded for it, minus package-installation noise, and an execution count.
    /// dotnet repl drops cell ids and execution counts, so they come from here; a source cell without an id gets one.
    /// </summary>
    public static JsonObject Merge(JsonObject source, JsonObject executed, string sourceName)
    {
        var result = (JsonObject)source.DeepClone();
        Ipynb.AddMissingIds(result, Path.GetFileName(sourceName));
        var cells = Cells(result);
        var executedCode = Cells(executed).Where(c => CellType(c!) == "code").ToList();
        var code = cells.Where(c => CellType(c!) == "code").ToList();
        if (code.Count != executedCode.Count)
            throw new InvalidDataException(
                $"{sourceName}: dotnet repl returned {executedCode.Count} code cells for {code.Count} in the source");

        int count = 0;
        for (int i = 0; i < code.Count; i++)
        {
            var cell = (JsonObject)code[i]!;
            var ran = executedCode[i]!;
            if (Normalize(Source(cell)) != Normalize(Source(ran)))
                throw new InvalidDataException(
                    $"{sourceName}: code cell {i + 1} in dotnet repl's output has different source than the notebook");
            var outputs = StripNoise(ran["outputs"] as JsonArray ?? []);
            bool empty = Source(cell).Trim().Length == 0;
            int? n = empty ? null : ++count;
            cell["execution_count"] = n;
            foreach (var o in outputs.OfType<JsonObject>())
                if (Ipynb.Text(o["output_type"]) == "execute_result")
                    o["execution_count"] = n;
            cell["outputs"] = outputs;
        }
        return result;
    }

    static string Normalize(string s) => s.Replace("\r\n", "\n").TrimEnd();

    /// <summary>
    /// Removes what the kernel prints while resolving <c>#r "nuget:..."</c>: every "Installing Packages" progress
    /// update (a cold run stores each one) and the final "Installed Packages" list.
    /// </summary>
    public static JsonArray StripNoise(JsonArray outputs)
    {
        var kept = new JsonArray();
        foreach (var o in outputs)
        {
            if (o is JsonObject obj && IsPackageNoise(obj)) continue;
            kept.Add(o?.DeepClone());
        }
        return kept;
    }

    public static bool IsPackageNoise(JsonObject output)
    {
        var type = Ipynb.Text(output["output_type"]);
        if (type is not ("display_data" or "execute_result" or "update_display_data")) return false;
        if (output["data"] is not JsonObject data || data.Count == 0) return false;
        bool sawHtml = false;
        foreach (var (mime, value) in data)
        {
            var raw = JoinText(value);
            if (mime == "text/html")
            {
                // The kernel's own markup: <div><div>…<strong>Installing Packages</strong><ul><li><span>Name…</span></li></ul>…</div>
                if (!PackageHtml().IsMatch(raw)) return false;
                sawHtml = true;
            }
            else if (mime != "text/plain" || !PackagePlain().IsMatch(WhiteSpace().Replace(raw, " ").Trim()))
                return false;
        }
        return sawHtml;
    }

    /// <summary>Cells with an <c>error</c> output, in order.</summary>
    public static List<CellFailure> Failures(JsonObject nb)
    {
        var failures = new List<CellFailure>();
        var cells = Cells(nb);
        for (int i = 0; i < cells.Count; i++)
        {
            var cell = cells[i]!;
            foreach (var o in Ipynb.Outputs(cell))
            {
                if (Ipynb.Text(o["output_type"]) != "error") continue;
                var ename = o["ename"] is null ? "Error" : JoinText(o["ename"]);
                var evalue = JoinText(o["evalue"]);
                // The first line carries the message; the rest is the kernel's stack trace.
                var firstLines = evalue.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
                if (firstLines.Length > 300) firstLines = firstLines[..297] + "...";
                failures.Add(new CellFailure(i + 1, Ipynb.Id(cell), FirstLine(cell), $"{ename}: {firstLines}"));
                break;
            }
        }
        return failures;
    }

    [GeneratedRegex(@"\s+")] private static partial Regex WhiteSpace();
    [GeneratedRegex(@"^\s*<div><div>(</div>|<div>)*<div><strong>(Installing|Installed) Packages</strong><ul>(<li><span>[^<]*</span></li>)*</ul></div>(<div></div>)*</div>\s*$")]
    private static partial Regex PackageHtml();
    [GeneratedRegex(@"^(Installing|Installed) [Pp]ackages?\b")] private static partial Regex PackagePlain();

    /// <summary>Writes through a temporary file in the same folder, then renames: readers never see half a file.</summary>
    public static void WriteAtomically(string path, string text)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        // A fresh name: the temporary file can never be an existing file.
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(tmp, text, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }
}
