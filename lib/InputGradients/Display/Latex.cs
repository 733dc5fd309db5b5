namespace InputGradients.Display;

/// <summary>
/// Any LaTeX formula as a displayable value, e.g. <c>new Latex($@"C = {m.ToLatex()},\quad \det C = {det}")</c>.
/// Notebooks typeset it like a <see cref="LatexMatrix"/>.
/// </summary>
public sealed record Latex(string Source) : IHasLatex
{
    public string ToLatex() => Source;

    public override string ToString() => Source;

    /// <summary>Pieces (formulas or raw LaTeX strings) side by side, separated by <paramref name="separator"/>.</summary>
    public static Latex Join(string separator, params object[] parts)
        => new(string.Join(separator, parts.Select(p => p is IHasLatex l ? l.ToLatex() : p?.ToString() ?? "")));
}
