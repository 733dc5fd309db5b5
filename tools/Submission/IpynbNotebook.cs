using System.Text.Json;

namespace Submission;

/// <summary>One cell of a Jupyter notebook as the exporter needs it.</summary>
public sealed record NotebookCell(int Index, string CellType, string Source, IReadOnlyList<JsonElement> Outputs, int? ExecutionCount = null);

/// <summary>A Jupyter notebook (nbformat 4), read-only.</summary>
public sealed record IpynbNotebook(string Path, string Name, IReadOnlyList<NotebookCell> Cells)
{
    public static IpynbNotebook Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Notebook not found: {path}", path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not a valid notebook (JSON error: {e.Message}).", e); }
        using (doc)
        {
            if (!doc.RootElement.TryGetProperty("cells", out var cells) || cells.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{path} is not a Jupyter notebook: it has no 'cells' list.");
            var list = new List<NotebookCell>();
            var i = 0;
            foreach (var cell in cells.EnumerateArray())
            {
                var type = cell.TryGetProperty("cell_type", out var t) ? t.GetString() ?? "" : "";
                var outputs = cell.TryGetProperty("outputs", out var o) && o.ValueKind == JsonValueKind.Array
                    ? o.EnumerateArray().Select(e => e.Clone()).ToList()
                    : [];
                int? count = cell.TryGetProperty("execution_count", out var ec) && ec.ValueKind == JsonValueKind.Number ? ec.GetInt32() : null;
                list.Add(new NotebookCell(i++, type, cell.TryGetProperty("source", out var s) ? JoinText(s) : "", outputs, count));
            }
            return new IpynbNotebook(path, System.IO.Path.GetFileNameWithoutExtension(path), list);
        }
    }

    /// <summary>Jupyter stores text either as one string or as a list of lines.</summary>
    public static string JoinText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Array => string.Concat(value.EnumerateArray().Select(v => v.GetString())),
        _ => "",
    };

    /// <summary>The cells whose outputs contain an error, with the error's name and message.</summary>
    public IEnumerable<(NotebookCell Cell, string Error)> Errors() =>
        from cell in Cells
        from output in cell.Outputs
        where output.TryGetProperty("output_type", out var ot) && ot.GetString() == "error"
        select (cell, $"{Text(output, "ename")}: {Text(output, "evalue")}");

    /// <summary>Code cells with code that were never run (no execution count): their answers are missing.</summary>
    public IEnumerable<NotebookCell> NotRun() =>
        Cells.Where(c => c.CellType == "code" && c.Source.Trim().Length > 0 && c.ExecutionCount is null);

    static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? JoinText(v) : "";
}
