using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Markdig;
using Markdig.Extensions.Mathematics;
using Markdig.Renderers;
using Markdig.Renderers.Html;

namespace Submission;

/// <summary>
/// Renders executed notebooks as one printable HTML page: markdown with LaTeX (typeset by MathJax in the
/// browser), code wrapped rather than clipped, outputs in order (charts, images, tables, text), and a page break
/// before every notebook and every sub-question heading (<c>## Q1.1 …</c>), as Gradescope wants.
/// </summary>
public static partial class NotebookHtml
{
    // Not UseAdvancedExtensions: its generic attributes read "{Ld}" in "$2^{Ld}$" at the end of a heading as an
    // attribute block and break the formula.
    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .UseMathematics()
        .UsePipeTables()
        .UseGridTables()
        .UseEmphasisExtras()
        .UseListExtras()
        .UseTaskLists()
        .UseAutoLinks()
        .UseFootnotes()
        .Build();

    /// <summary>Markdown to HTML; maths goes to MathJax as <c>\(…\)</c>, or <c>\[…\]</c> for <c>$$…$$</c> even inside a paragraph.</summary>
    internal static string MarkdownToHtml(string markdown)
    {
        var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        Pipeline.Setup(renderer);
        renderer.ObjectRenderers.Replace<HtmlMathInlineRenderer>(new DisplayAwareMathInlineRenderer());
        renderer.Render(Markdown.Parse(markdown, Pipeline));
        writer.Flush();
        return writer.ToString();
    }

    /// <summary>Markdig renders <c>$$x$$</c> inside a paragraph as inline maths; students mean a displayed formula.</summary>
    sealed class DisplayAwareMathInlineRenderer : HtmlObjectRenderer<MathInline>
    {
        protected override void Write(HtmlRenderer renderer, MathInline math)
        {
            var display = math.DelimiterCount >= 2;
            renderer.Write(display ? "<span class=\"math display\">\\[" : "<span class=\"math\">\\(");
            renderer.WriteEscape(ref math.Content);
            renderer.Write(display ? "\\]</span>" : "\\)</span>");
        }
    }

    /// <summary>Output formats in order of preference, richest first.</summary>
    static readonly string[] MimePreference =
        ["text/html", "image/svg+xml", "image/png", "image/jpeg", "text/latex", "text/markdown", "text/plain"];

    /// <summary>A markdown cell opens a sub-question when it starts with a level-2 heading naming one: "## Q3.2 …", "## Q4 …", "## Q6.A3 …".</summary>
    public static bool IsSubQuestion(string markdown) => SubQuestionHeading().IsMatch(markdown.TrimStart());

    /// <param name="titlePage">HTML of a first page (the student's name and collaborators), or null.</param>
    public static string Render(IReadOnlyList<IpynbNotebook> notebooks, string title, string mathJaxScript, string? titlePage = null)
    {
        var html = new StringBuilder();
        html.Append($"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{WebUtility.HtmlEncode(title)}</title>
            <style>{Css}</style>
            <script>{MathJaxConfig}</script>
            <script>{mathJaxScript}</script>
            </head><body>

            """);
        if (titlePage is not null) html.Append(titlePage);
        foreach (var notebook in notebooks) RenderNotebook(html, notebook);
        html.Append($"<script>{ReadySignal}</script>\n</body></html>\n");
        return html.ToString();
    }

    static void RenderNotebook(StringBuilder html, IpynbNotebook notebook)
    {
        html.Append($"<article class=\"notebook\" data-notebook=\"{WebUtility.HtmlEncode(notebook.Name)}\">\n");
        foreach (var cell in notebook.Cells)
        {
            switch (cell.CellType)
            {
                case "markdown":
                    var css = IsSubQuestion(cell.Source) ? "cell markdown subquestion" : "cell markdown";
                    html.Append($"<section class=\"{css}\">").Append(MarkdownToHtml(cell.Source)).Append("</section>\n");
                    break;
                case "code":
                    html.Append("<section class=\"cell code\">");
                    if (cell.Source.Trim().Length > 0)
                        html.Append($"<pre class=\"source\">{WebUtility.HtmlEncode(cell.Source)}</pre>");
                    foreach (var output in cell.Outputs) RenderOutput(html, output);
                    html.Append("</section>\n");
                    break;
            }
        }
        html.Append("</article>\n");
    }

    static void RenderOutput(StringBuilder html, JsonElement output)
    {
        var kind = output.TryGetProperty("output_type", out var k) ? k.GetString() : null;
        switch (kind)
        {
            case "stream":
                var name = output.TryGetProperty("name", out var n) ? n.GetString() : "stdout";
                html.Append($"<pre class=\"output stream {name}\">{WebUtility.HtmlEncode(Text(output, "text"))}</pre>");
                break;
            case "error":
                html.Append($"<pre class=\"output error\">{WebUtility.HtmlEncode($"{Text(output, "ename")}: {Text(output, "evalue")}")}</pre>");
                break;
            case "display_data" or "execute_result":
                if (!output.TryGetProperty("data", out var data)) break;
                var mime = MimePreference.FirstOrDefault(m => data.TryGetProperty(m, out _));
                if (mime is null) break;
                var value = IpynbNotebook.JoinText(data.GetProperty(mime));
                html.Append("<div class=\"output\">").Append(RenderMime(mime, value)).Append("</div>");
                break;
        }
    }

    static string RenderMime(string mime, string value) => mime switch
    {
        "text/html" or "image/svg+xml" => value,
        "image/png" or "image/jpeg" => $"<img alt=\"figure\" src=\"data:{mime};base64,{Regex.Replace(value, @"\s", "")}\">",
        "text/markdown" => MarkdownToHtml(value),
        "text/latex" => $"<div class=\"math\">\\[{WebUtility.HtmlEncode(StripDisplayDelimiters(value))}\\]</div>",
        _ => $"<pre class=\"plain\">{WebUtility.HtmlEncode(value)}</pre>",
    };

    /// <summary>text/latex outputs usually come wrapped in $$…$$ or $…$; MathJax gets the bare formula.</summary>
    internal static string StripDisplayDelimiters(string latex)
    {
        var t = latex.Trim();
        foreach (var (open, close) in new[] { ("$$", "$$"), ("\\[", "\\]"), ("$", "$") })
            if (t.Length >= open.Length + close.Length && t.StartsWith(open) && t.EndsWith(close))
                return t[open.Length..^close.Length];
        return t;
    }

    static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? IpynbNotebook.JoinText(v) : "";

    [GeneratedRegex(@"^##\s+Q\d+(\.[A-Z]?\d+)?\b")]
    private static partial Regex SubQuestionHeading();

    const string MathJaxConfig = """
        window.MathJax = {
          tex: { inlineMath: [['\\(', '\\)']], displayMath: [['\\[', '\\]']], processEscapes: false },
          svg: { fontCache: 'global' },
          startup: { typeset: true }
        };
        """;

    /// <summary>Sets window.__submissionReady once maths is typeset and every chart has drawn (or 20 s passed).</summary>
    const string ReadySignal = """
        (async function () {
          try {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
            const start = Date.now();
            while (Date.now() - start < 20000) {
              const charts = [...document.querySelectorAll('.js-plotly-plot, .plotly-graph-div')];
              if (charts.every(c => c.querySelector('.main-svg'))) break;
              await new Promise(r => setTimeout(r, 100));
            }
          } finally {
            window.__mathErrors = document.querySelectorAll('mjx-merror, [data-mjx-error]').length;
            window.__undrawnCharts = [...document.querySelectorAll('.js-plotly-plot, .plotly-graph-div')]
              .filter(c => !c.querySelector('.main-svg')).length;
            window.__submissionReady = true;
          }
        })();
        """;

    const string Css = """
        @page { size: A4; margin: 14mm 12mm 16mm 12mm; }
        body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4; color: #111; }
        /* Every notebook starts a page. Not "article + article": plotly.js inserts an svg into body between the
           articles, so the sibling selector stopped matching after a notebook with a chart (Q3 stranded after Q2). */
        article.notebook { break-before: page; }
        section.title-page { padding-top: 30mm; }
        section.title-page h1 { font-size: 20pt; border: none; margin-bottom: 2em; }
        section.title-page p { font-size: 13pt; margin: 0.8em 0; }
        section.title-page p.student-missing { color: #a00; }
        section.title-page p.contents { font-size: 10pt; color: #444; margin-top: 3em; }
        section.subquestion { break-before: page; }
        h1 { font-size: 18pt; border-bottom: 1px solid #999; } h2 { font-size: 14pt; } h3 { font-size: 12pt; }
        blockquote { margin: 0.4em 0; padding: 0.1em 0.8em; border-left: 3px solid #bbb; color: #444; }
        pre { white-space: pre-wrap; overflow-wrap: anywhere; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 8.5pt; margin: 0.3em 0; }
        pre.source { background: #f4f4f6; border-left: 3px solid #6a7fdb; padding: 0.4em 0.6em; }
        pre.output, pre.plain { padding: 0.2em 0.6em; }
        pre.error { color: #a00; border-left: 3px solid #a00; }
        .output { margin: 0.3em 0 0.6em 0; break-inside: avoid; overflow-wrap: anywhere; }
        .output img, .markdown img { max-width: 100%; height: auto; }
        table { border-collapse: collapse; font-size: 9pt; margin: 0.4em 0; }
        th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
        .math { overflow-x: visible; }
        span.math.display { display: block; text-align: center; margin: 0.4em 0; }
        mjx-container[display="true"] { margin: 0.5em 0 !important; }
        /* A displayed formula or table wider than the page is scaled down to fit rather than cut at the margin. */
        mjx-container[display="true"] > svg { max-width: 100%; }
        """;
}
