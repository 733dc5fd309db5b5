namespace InputGradients.Display;

/// <summary>
/// A value that knows its own LaTeX form (a matrix with symbolic entries, an equation).
/// The notebook integration renders any such value as typeset maths.
/// </summary>
public interface IHasLatex
{
    /// <summary>LaTeX source without surrounding <c>$</c> delimiters, e.g. <c>\begin{bmatrix}…\end{bmatrix}</c>.</summary>
    string ToLatex();
}
