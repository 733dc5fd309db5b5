using System.Text.Json;
using InputGradients.Shared;

namespace Submission;

/// <summary>One cell of a Jupyter notebook as the exporter needs it.</summary>
public sealed record NotebookCell(int Index, string CellType, string Source, IReadOnlyList<JsonElement> Outputs, int? ExecutionCount = null);

/// <summary>A Jupyter notebook (nbformat 4), read-only.</summary>
public sealed record IpynbNotebook(string Path, string Name, IReadOnlyList<NotebookCell> Cells)
{
    public static IpynbNotebook Load(string path)
    {
        var nb = Ipynb.Load(path);
        var cells = Ipynb.Cells(nb).Select((cell, i) => new NotebookCell(
            i, Ipynb.CellType(cell!), Ipynb.Source(cell!),
            Ipynb.Outputs(cell!).Select(o => JsonSerializer.SerializeToElement(o)).ToList(),
            Ipynb.ExecutionCount(cell!))).ToList();
        return new IpynbNotebook(path, System.IO.Path.GetFileNameWithoutExtension(path), cells);
    }

    /// <summary>Jupyter stores text either as one string or as a list of lines.</summary>
    public static string JoinText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Array => string.Concat(value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText())),
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
