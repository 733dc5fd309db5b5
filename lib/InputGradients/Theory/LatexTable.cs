using System.Globalization;
using System.Reflection;
using System.Text;
using InputGradients.Display;

namespace InputGradients.Theory;

/// <summary>
/// A small table typeset as a LaTeX <c>array</c>, so that result tables in the theory notebooks render like the
/// maths around them (and survive the PDF export). Columns are the public properties of the row type, in order;
/// underscores in names become spaces.
/// </summary>
public sealed class LatexTable : IHasLatex
{
    public IReadOnlyList<string> Headers { get; }
    public IReadOnlyList<IReadOnlyList<string>> Cells { get; }

    public LatexTable(IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> cells)
    {
        foreach (var row in cells)
            if (row.Count != headers.Count)
                throw new ArgumentException($"A row has {row.Count} cells but the table has {headers.Count} columns.", nameof(cells));
        Headers = headers;
        Cells = cells;
    }

    public static LatexTable From<T>(IEnumerable<T> rows)
    {
        var props = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance);
        var cells = rows.Select(r => (IReadOnlyList<string>)props.Select(p => Format(p.GetValue(r))).ToList()).ToList();
        return new LatexTable(props.Select(p => p.Name.Replace('_', ' ')).ToList(), cells);
    }

    static string Format(object? v) => v switch
    {
        null => "",
        bool b => b ? "yes" : "no",
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    static string Text(string s)
    {
        var sb = new StringBuilder();
        char previous = '\0';
        foreach (var c in s)
        {
            // TeX text mode (KaTeX, MathJax's textmacros) makes "--" an en dash and "''" a closing quote, so a sign
            // pattern "++--" would print as "++–": a new \text group between the pair keeps the characters apart.
            if (c == previous && c is ('-' or '\'' or '`')) sb.Append("}\\text{");
            previous = c;
            sb.Append(c switch
            {
                '\\' => "\\backslash ",
                '{' or '}' or '_' or '#' or '&' or '%' or '$' => "\\" + c,
                '^' => "\\hat{}",
                '~' => "\\sim ",
                _ => c.ToString(),
            });
        }
        return "\\text{" + sb + "}";
    }

    public string ToLatex()
    {
        var sb = new StringBuilder();
        // One line: markdown renderers that handle $$…$$ may not accept line breaks inside it.
        sb.Append("\\begin{array}{").Append(string.Concat(Enumerable.Repeat("c", Headers.Count))).Append("} ");
        sb.Append(string.Join(" & ", Headers.Select(Text))).Append(" \\\\ \\hline ");
        foreach (var row in Cells) sb.Append(string.Join(" & ", row.Select(Text))).Append(" \\\\ ");
        sb.Append("\\end{array}");
        return sb.ToString();
    }

    public override string ToString()
    {
        var widths = Headers.Select((h, i) => Math.Max(h.Length, Cells.Count == 0 ? 0 : Cells.Max(r => r[i].Length))).ToArray();
        string Line(IEnumerable<string> cs) => string.Join("  ", cs.Select((c, i) => c.PadLeft(widths[i])));
        return string.Join("\n", new[] { Line(Headers) }.Concat(Cells.Select(Line)));
    }
}

public static class LatexTableExtensions
{
    /// <summary>Rows (usually anonymous objects) as a typeset table.</summary>
    public static LatexTable ToLatexTable<T>(this IEnumerable<T> rows) => LatexTable.From(rows);
}
