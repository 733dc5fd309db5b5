using System.Text;
using Plotly.NET;

namespace InputGradients.Display;

/// <summary>
/// Self-contained HTML for Plotly.NET charts: no CDN, no require.js. A fragment either carries plotly.js itself
/// or waits for an earlier fragment on the same page to have defined <c>window.Plotly</c>; notebook outputs are
/// rendered in order (VS Code's output webview, nbconvert's HTML), so only the first chart of a session needs the
/// 3.5 MB library.
/// </summary>
public static class ChartHtml
{
    /// <summary>An HTML fragment (a div and scripts) for one chart.</summary>
    /// <param name="includeLibrary">Inline plotly.js in this fragment (needed once per page).</param>
    public static string Fragment(GenericChart chart, bool includeLibrary)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var id = "ig-plot-" + Guid.NewGuid().ToString("N");
        // toJson gives {"data":…,"layout":…,"config":…}; "</" must not close the script element early.
        var figure = GenericChart.toJson(chart).Replace("</", "<\\/");
        var sb = new StringBuilder();
        sb.Append("<div id=\"").Append(id).Append("\"></div>\n");
        // Plotly's toolbar is for the screen; keep it out of printed PDFs.
        sb.Append("<style>@media print { #").Append(id).Append(" .modebar-container { display: none !important; } }</style>\n");
        if (includeLibrary)
        {
            // Hide AMD/CommonJS loaders (require.js is on nbconvert's and some notebook pages) so the bundle sets
            // window.Plotly instead of registering an anonymous module.
            sb.Append("<script type=\"text/javascript\">(function(define, module, exports){\n")
              .Append(PlotlyJs.Script.Replace("</script", "<\\/script"))
              .Append("\n}).call(window);</script>\n");
        }
        sb.Append("<script type=\"text/javascript\">(function(){\n")
          .Append("var fig = ").Append(figure).Append(";\n")
          .Append("var id = '").Append(id).Append("', tries = 0;\n")
          .Append("function draw(){\n")
          .Append("  var el = document.getElementById(id);\n")
          .Append("  if (window.Plotly && el) { window.Plotly.newPlot(el, fig.data, fig.layout, fig.config); return; }\n")
          .Append("  if (++tries < 600) { setTimeout(draw, 50); return; }\n")
          .Append("  if (el) el.textContent = 'plotly.js did not load: re-run the notebook from its first cell (the first chart of a session carries the library).';\n")
          .Append("}\n")
          .Append("draw();\n")
          .Append("})();</script>\n");
        return sb.ToString();
    }

    /// <summary>A complete HTML page for one or more charts, with plotly.js inlined once.</summary>
    public static string Page(IEnumerable<GenericChart> charts, string? title = null)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\"/>\n<title>")
          .Append(System.Net.WebUtility.HtmlEncode(title ?? "Chart")).Append("</title>\n</head>\n<body>\n");
        bool first = true;
        foreach (var chart in charts)
        {
            sb.Append(Fragment(chart, includeLibrary: first));
            first = false;
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }
}
