using System.Globalization;
using System.Text;
using TorchSharp;

namespace InputGradients.Display;

/// <summary>Which brackets surround a <see cref="LatexMatrix"/> (LaTeX amsmath environments).</summary>
public enum MatrixBrackets { Square, Round, None }

/// <summary>
/// A matrix rendered as LaTeX: symbolic entries such as <c>w_{(0,1)}</c> or numbers with a format.
/// Shown as typeset maths in notebooks (via <see cref="IHasLatex"/>); <see cref="ToString"/> gives a plain-text grid.
/// </summary>
/// <example><code>
/// LatexMatrix.FromSymbols(entries).WithName("C")          // C = [ … ]
/// LatexMatrix.FromValues(weights, "0.###")
/// </code></example>
public sealed class LatexMatrix : IHasLatex
{
    readonly string[,] _latex;   // each entry already in LaTeX
    readonly string[,] _plain;   // each entry as plain text

    LatexMatrix(string[,] latex, string[,] plain, string? name, MatrixBrackets brackets)
    {
        _latex = latex;
        _plain = plain;
        Name = name;
        Brackets = brackets;
    }

    public int Rows => _latex.GetLength(0);
    public int Columns => _latex.GetLength(1);

    /// <summary>Optional left-hand side, e.g. <c>C</c> gives <c>C = \begin{bmatrix}…</c>.</summary>
    public string? Name { get; }

    public MatrixBrackets Brackets { get; }

    /// <summary>Entries are LaTeX already (e.g. <c>w_{(0,1)}</c>); null or empty entries print as 0.</summary>
    public static LatexMatrix FromSymbols(string?[,] entries, string? name = null, MatrixBrackets brackets = MatrixBrackets.Square)
    {
        ArgumentNullException.ThrowIfNull(entries);
        int r = entries.GetLength(0), c = entries.GetLength(1);
        var latex = new string[r, c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                latex[i, j] = string.IsNullOrEmpty(entries[i, j]) ? "0" : entries[i, j]!;
        return new LatexMatrix(latex, latex, name, brackets);
    }

    /// <summary>Numbers formatted with a .NET numeric format (invariant culture); negative zero prints as 0.</summary>
    public static LatexMatrix FromValues(double[,] values, string format = "0.####", string? name = null,
        MatrixBrackets brackets = MatrixBrackets.Square)
    {
        ArgumentNullException.ThrowIfNull(values);
        int r = values.GetLength(0), c = values.GetLength(1);
        var latex = new string[r, c];
        var plain = new string[r, c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
            {
                plain[i, j] = FormatNumber(values[i, j], format);
                latex[i, j] = NumberToLatex(plain[i, j]);
            }
        return new LatexMatrix(latex, plain, name, brackets);
    }

    /// <summary>A 2-D tensor (or a 1-D one, shown as a column) of any real dtype.</summary>
    public static LatexMatrix FromTensor(torch.Tensor tensor, string format = "0.####", string? name = null,
        MatrixBrackets brackets = MatrixBrackets.Square)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() is not (1 or 2))
            throw new ArgumentException(
                $"LatexMatrix needs a 1-D or 2-D tensor; got shape [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        using var scope = torch.NewDisposeScope();
        var t = tensor.detach().cpu().to_type(torch.ScalarType.Float64);
        if (t.dim() == 1) t = t.unsqueeze(1);
        int r = (int)t.shape[0], c = (int)t.shape[1];
        var flat = t.contiguous().data<double>().ToArray();
        var values = new double[r, c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                values[i, j] = flat[i * c + j];
        return FromValues(values, format, name, brackets);
    }

    public LatexMatrix WithName(string? name) => new(_latex, _plain, name, Brackets);

    public string ToLatex()
    {
        var env = Brackets switch
        {
            MatrixBrackets.Square => "bmatrix",
            MatrixBrackets.Round => "pmatrix",
            _ => "matrix",
        };
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(Name)) sb.Append(Name).Append(" = ");
        sb.Append(@"\begin{").Append(env).Append('}');
        for (int i = 0; i < Rows; i++)
        {
            sb.Append(i == 0 ? " " : @" \\ ");
            for (int j = 0; j < Columns; j++)
            {
                if (j > 0) sb.Append(" & ");
                sb.Append(_latex[i, j]);
            }
        }
        sb.Append(@" \end{").Append(env).Append('}');
        return sb.ToString();
    }

    /// <summary>Plain-text grid with right-aligned columns (what a terminal or text/plain shows).</summary>
    public override string ToString()
    {
        var widths = new int[Columns];
        for (int j = 0; j < Columns; j++)
            for (int i = 0; i < Rows; i++)
                widths[j] = Math.Max(widths[j], _plain[i, j].Length);
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(Name)) sb.Append(Name).Append(" =").AppendLine();
        for (int i = 0; i < Rows; i++)
        {
            sb.Append("[ ");
            for (int j = 0; j < Columns; j++)
            {
                if (j > 0) sb.Append("  ");
                sb.Append(_plain[i, j].PadLeft(widths[j]));
            }
            sb.Append(" ]");
            if (i < Rows - 1) sb.AppendLine();
        }
        return sb.ToString();
    }

    static string FormatNumber(double v, string format)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "inf";
        if (double.IsNegativeInfinity(v)) return "-inf";
        var s = v.ToString(format, CultureInfo.InvariantCulture);
        // "-0" after rounding is noise in a matrix of weights.
        return s.TrimStart('-').Trim('0', '.').Length == 0 && s.StartsWith('-') ? s[1..] : s;
    }

    static string NumberToLatex(string s) => s switch
    {
        "NaN" => @"\mathrm{NaN}",
        "inf" => @"\infty",
        "-inf" => @"-\infty",
        _ when s.Contains('E') => ExponentToLatex(s),
        _ => s,
    };

    static string ExponentToLatex(string s)
    {
        var parts = s.Split('E');
        var exp = int.Parse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return $@"{parts[0]} \times 10^{{{exp}}}";
    }
}
