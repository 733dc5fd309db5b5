using InputGradients.Display;
using Microsoft.DotNet.Interactive.Formatting;
using Plotly.NET;

namespace InputGradients.Interactive;

public static partial class Notebook
{
    static bool s_formattersRegistered;
    static int s_chartLibraryEmitted;

    /// <summary>
    /// Whether every chart output carries plotly.js (3.5 MB each) instead of only the first one of the session.
    /// Turn on if a notebook's charts are displayed out of order (e.g. cells re-run after the first chart's output
    /// was cleared) and the saved file must still render every chart on its own.
    /// </summary>
    public static bool InlinePlotlyInEveryChart { get; set; }

    /// <summary>
    /// Formatters for the library's own display types and for Plotly.NET charts (never for Tensor or object):
    /// <list type="bullet">
    /// <item><see cref="IHasLatex"/>: text/latex and text/markdown, both <c>$$…$$</c> (VS Code renders the markdown
    /// with KaTeX; nbconvert's HTML and LaTeX exports take text/latex), and text/plain.</item>
    /// <item><see cref="IPngImage"/> (ImageGrid, PngImage): image/png (base64, as Jupyter stores it) and text/plain.</item>
    /// <item><see cref="GenericChart"/>: text/html with plotly.js inlined (no CDN, no require.js).</item>
    /// <item><see cref="SourceListing"/>: text/html (coloured, wrapping <c>&lt;pre&gt;</c>) and text/plain.</item>
    /// </list>
    /// </summary>
    static partial void RegisterFormatters() => RegisterDisplayFormatters();

    /// <summary>Idempotent; also called by <see cref="Progress.Show"/> so progress works without Setup.</summary>
    internal static void RegisterDisplayFormatters()
    {
        lock (s_formattersLock)
        {
            if (s_formattersRegistered) return;
            RegisterDisplayFormattersOnce();
            s_formattersRegistered = true; // only after success, so a failed registration is tried again
        }
    }

    static readonly object s_formattersLock = new();

    static void RegisterDisplayFormattersOnce()
    {
        SkiaNative.Ensure(); // before any SkiaSharp call in this process

        Formatter.Register<IHasLatex>((value, writer) => writer.Write(DisplayMath(value)), "text/latex");
        Formatter.Register<IHasLatex>((value, writer) => writer.Write(DisplayMath(value)), "text/markdown");
        Formatter.Register<IHasLatex>((value, writer) => writer.Write(value.ToString()), "text/plain");
        Formatter.SetPreferredMimeTypesFor(typeof(IHasLatex), "text/latex", "text/markdown", "text/plain");
        Formatter.SetPreferredMimeTypesFor(typeof(LatexMatrix), "text/latex", "text/markdown", "text/plain");

        // Base64 is what Jupyter stores for image/png, and what the VS Code Polyglot client decodes back to bytes
        // (interactiveClient.ts treats image/png, image/jpeg and image/gif values as base64).
        Formatter.Register<IPngImage>((value, writer) => writer.Write(Convert.ToBase64String(value.ToPng())), "image/png");
        Formatter.Register<IPngImage>((value, writer) => writer.Write(value.ToString()), "text/plain");
        foreach (var type in new[] { typeof(IPngImage), typeof(ImageGrid), typeof(PngImage) })
            Formatter.SetPreferredMimeTypesFor(type, "image/png", "text/plain");

        Formatter.Register<GenericChart>((chart, writer) => writer.Write(ChartFragment(chart)), "text/html");
        Formatter.SetPreferredMimeTypesFor(typeof(GenericChart), "text/html");

        Formatter.Register<SourceListing>((listing, writer) => writer.Write(listing.ToHtml()), "text/html");
        Formatter.Register<SourceListing>((listing, writer) => writer.Write(listing.ToString()), "text/plain");
        Formatter.SetPreferredMimeTypesFor(typeof(SourceListing), "text/html", "text/plain");

        Formatter.Register<ProgressState>((state, writer) => writer.Write(state.ToHtml()), "text/html");
        Formatter.Register<ProgressState>((state, writer) => writer.Write(state.ToString()), "text/plain");
        Formatter.SetPreferredMimeTypesFor(typeof(ProgressState), "text/html", "text/plain");
    }

    // One line: markdown maths renderers end $$…$$ at a line break (a blank line would even end the paragraph).
    static string DisplayMath(IHasLatex value) => "$$" + value.ToLatex().ReplaceLineEndings(" ") + "$$";

    static string ChartFragment(GenericChart chart)
    {
        bool first = Interlocked.Exchange(ref s_chartLibraryEmitted, 1) == 0;
        return ChartHtml.Fragment(chart, includeLibrary: first || InlinePlotlyInEveryChart);
    }
}
