using System.Diagnostics;
using System.Text.RegularExpressions;
using InputGradients.Display;
using Plotly.NET;

namespace InputGradients.Tests.Display;

public class ChartHtmlTests
{
    internal static GenericChart LineChart()
    {
        var trace = new Plotly.NET.Trace("scatter");
        trace.SetProperty("x", new[] { 1.0, 2.0, 3.0 });
        trace.SetProperty("y", new[] { 2.0, 0.5, 4.0 });
        trace.SetProperty("mode", "lines");
        return GenericChart.ofTraceObject(true, trace);
    }

    static readonly Regex ExternalScript = new(@"<script[^>]*\bsrc\s*=", RegexOptions.IgnoreCase);

    [Fact]
    public void Plotly_js_is_version_2_28_0()
    {
        Assert.Contains("plotly.js v2.28.0", PlotlyJs.Script[..Math.Min(2000, PlotlyJs.Script.Length)]);
    }

    [Fact]
    public void Fragment_with_library_is_self_contained()
    {
        var html = ChartHtml.Fragment(LineChart(), includeLibrary: true);
        Assert.DoesNotMatch(ExternalScript, html);
        // plotly.js itself names its CDN as a default for map data; what matters is that nothing is loaded from it.
        Assert.DoesNotContain("require.config", html);
        Assert.Contains("plotly.js v2.28.0", html);
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("\"x\":[1.0,2.0,3.0]", html);
    }

    [Fact]
    public void Fragment_without_library_is_small_and_waits_for_window_Plotly()
    {
        var html = ChartHtml.Fragment(LineChart(), includeLibrary: false);
        Assert.True(html.Length < 50_000, $"fragment is {html.Length} chars");
        Assert.DoesNotContain("plotly.js v2.28.0", html);
        Assert.Contains("window.Plotly", html);
        Assert.Contains("setTimeout(draw", html);
    }

    /// <summary>Renders exported HTML in headless Chromium with networking off and checks Plotly drew SVG.</summary>
    [Fact]
    public void Exported_page_renders_offline_in_chromium()
    {
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), "headless Chromium (Debian package chromium) is needed to check offline rendering");
        var dir = Directory.CreateTempSubdirectory("ig-chart-");
        try
        {
            var path = Path.Combine(dir.FullName, "two.html");
            // Two charts on one page: the second relies on the first's inlined library.
            File.WriteAllText(path, ChartHtml.Page([LineChart(), LineChart()], "two charts"));
            var psi = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                         $"--user-data-dir={Path.Combine(dir.FullName, "profile")}", "--virtual-time-budget=5000",
                         "--dump-dom", new Uri(path).AbsoluteUri })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var dom = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(60_000), "chromium timed out");
            var text = dom.Result;
            int plots = Regex.Matches(text, "class=\"main-svg\"").Count;
            // Plotly draws two main-svg layers per plot.
            Assert.True(plots >= 4, $"expected both charts drawn (main-svg x4), found {plots}; DOM length {text.Length}");
            Assert.DoesNotMatch(new Regex("<div id=\"ig-plot-[0-9a-f]+\">plotly.js did not load"), text);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
