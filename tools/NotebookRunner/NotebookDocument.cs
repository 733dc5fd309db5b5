using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NotebookRunner;

/// <summary>A cell that produced an <c>error</c> output.</summary>
/// <param name="Index">1-based position among all cells of the notebook (markdown included), as an editor shows it.</param>
public sealed record CellFailure(int Index, string? CellId, string FirstLine, string Error)
{
    public string Describe() =>
        $"cell {Index}{(CellId is null ? "" : $" [id {CellId}]")} `{FirstLine}`: {Error}";
}

/// <summary>Reading, merging and cleaning .ipynb (nbformat 4) documents as JSON trees.</summary>
public static partial class NotebookDocument
{
    static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        IndentSize = 1,
        // Readable diffs: keep quotes, '<' and non-ASCII text as they are (the file is not embedded in HTML).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static JsonObject Load(string path)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        if (node is not JsonObject nb || nb["cells"] is not JsonArray)
            throw new InvalidDataException($"{path}: not a notebook (no \"cells\" array)");
        return nb;
    }

    public static string Serialize(JsonObject nb) => nb.ToJsonString(Indented) + "\n";

    public static JsonArray Cells(JsonObject nb) => (JsonArray)nb["cells"]!;

    public static string CellType(JsonNode cell) => cell["cell_type"]?.GetValue<string>() ?? "";

    /// <summary>A cell's source as one string (nbformat allows a string or a list of lines).</summary>
    public static string Source(JsonNode cell) => JoinText(cell["source"]);

    public static string FirstLine(JsonNode cell)
    {
        var first = Source(cell).Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.Trim().Length > 0) ?? "";
        return first.Length > 100 ? first[..97] + "..." : first;
    }

    static string JoinText(JsonNode? node) => node switch
    {
        null => "",
        JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>() ?? "")),
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(),
    };

    /// <summary>
    /// The executed copy: the source notebook unchanged (ids, metadata, markdown) except that each code cell gets
    /// the outputs dotnet repl recorded for it, minus package-installation noise, and an execution count.
    /// dotnet repl drops cell ids and execution counts, so they come from here.
    /// </summary>
    public static JsonObject Merge(JsonObject source, JsonObject executed, string sourceName)
    {
        var result = (JsonObject)source.DeepClone();
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
                if (o["output_type"]?.GetValue<string>() == "execute_result")
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
        var type = output["output_type"]?.GetValue<string>();
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
            if (cell["outputs"] is not JsonArray outputs) continue;
            foreach (var o in outputs.OfType<JsonObject>())
            {
                if (o["output_type"]?.GetValue<string>() != "error") continue;
                var ename = o["ename"]?.GetValue<string>() ?? "Error";
                var evalue = o["evalue"]?.GetValue<string>() ?? "";
                // The first line carries the message; the rest is the kernel's stack trace.
                var firstLines = evalue.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
                if (firstLines.Length > 300) firstLines = firstLines[..297] + "...";
                failures.Add(new CellFailure(i + 1, cell["id"]?.GetValue<string>(), FirstLine(cell), $"{ename}: {firstLines}"));
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
