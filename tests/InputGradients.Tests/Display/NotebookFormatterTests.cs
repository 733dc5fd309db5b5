using InputGradients.Interactive;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using SkiaSharp;

namespace InputGradients.Tests.Display;

/// <summary>
/// Submits notebook code to a real C# kernel and checks what the display events carry, as a notebook front end
/// (VS Code, dotnet repl) would receive it.
/// </summary>
[Collection("Formatter")] // the formatter registry is process-wide
public class NotebookFormatterTests
{
    static readonly string Setup = $"""
        #r "{typeof(Notebook).Assembly.Location}"
        #r "{typeof(InputGradients.Display.ImageGrid).Assembly.Location}"
        #r "{typeof(Plotly.NET.GenericChart).Assembly.Location}"
        #r "{typeof(TorchSharp.torch).Assembly.Location}"
        InputGradients.Interactive.Notebook.Setup();
        """;

    static async Task<List<KernelEvent>> Run(params string[] submissions)
    {
        using var kernel = new CompositeKernel { new CSharpKernel().UseKernelHelpers().UseValueSharing() };
        kernel.DefaultKernelName = "csharp";
        var events = new List<KernelEvent>();
        using var _ = kernel.KernelEvents.Subscribe(events.Add);
        foreach (var code in new[] { Setup }.Concat(submissions))
        {
            var result = await kernel.SendAsync(new SubmitCode(code));
            var failed = result.Events.OfType<CommandFailed>().FirstOrDefault();
            Assert.True(failed is null, $"cell failed: {failed?.Message}\n{code}");
        }
        return events;
    }

    static IReadOnlyList<FormattedValue> Displayed(List<KernelEvent> events, int index = 0)
        => events.OfType<DisplayEvent>().Where(e => e is not (DisplayedValueUpdated or StandardOutputValueProduced)).ElementAt(index).FormattedValues.ToList();

    [Fact]
    public async Task Setup_prints_one_line_naming_the_convolution_route()
    {
        var events = await Run();
        var printed = string.Concat(events.OfType<StandardOutputValueProduced>().Select(e => e.FormattedValues.First().Value));
        var route = InputGradients.Runtime.ConvolutionRoute.Ensure();
        Assert.Contains(route.Summary, printed);
        Assert.StartsWith("TorchSharp ", printed);
        Assert.Single(printed.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Source_listing_shows_as_html_with_plain_text()
    {
        var events = await Run("""InputGradients.Display.SourceListing.Of("Attribution/Saliency.cs", "compute_saliency_maps")""");
        var values = Displayed(events);
        var html = Assert.Single(values, v => v.MimeType == "text/html").Value;
        Assert.StartsWith("<div class=\"source-listing\">", html);
        Assert.Contains("compute_saliency_maps", html);
        var plain = Assert.Single(values, v => v.MimeType == "text/plain").Value;
        Assert.StartsWith("lib/InputGradients/Attribution/Saliency.cs, lines ", plain);
    }

    [Fact]
    public async Task SqueezeNet_experiment_without_its_weights_shows_one_line_saying_how_to_enable_it()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-squeezenet-{Guid.NewGuid():N}.pth");
        Environment.SetEnvironmentVariable(OriginalExperiment.WeightsVariable, missing);
        try
        {
            var events = await Run("InputGradients.Interactive.OriginalExperiment.SqueezeNet(TorchSharp.torch.zeros(2, 3, 64, 64))");
            var shown = events.OfType<DisplayEvent>().Where(e => e is not (DisplayedValueUpdated or StandardOutputValueProduced)).ToList();
            var text = Assert.Single(shown).FormattedValues.First().Value;
            Assert.Contains(missing, text);
            Assert.Contains(OriginalExperiment.WeightsVariable, text);
            Assert.Single(text.Trim().Split('\n'));
        }
        finally { Environment.SetEnvironmentVariable(OriginalExperiment.WeightsVariable, null); }
    }

    [Fact]
    public async Task LaTeX_matrix_shows_as_latex_and_markdown_maths_with_plain_text()
    {
        var events = await Run("""
            InputGradients.Display.LatexMatrix.FromSymbols(new[,] { { "w_{(0,1)}", "0" }, { "0", "w_{(1,0)}" } })
            """);
        var values = Displayed(events);
        var mimes = values.Select(v => v.MimeType).ToList();
        Assert.Equal(["text/latex", "text/markdown", "text/plain"], mimes);
        const string math = @"$$\begin{bmatrix} w_{(0,1)} & 0 \\ 0 & w_{(1,0)} \end{bmatrix}$$";
        Assert.Equal(math, values.Single(v => v.MimeType == "text/latex").Value);
        Assert.Equal(math, values.Single(v => v.MimeType == "text/markdown").Value);
    }

    [Fact]
    public async Task Any_IHasLatex_type_shows_as_maths()
    {
        var events = await Run("""
            class Eq : InputGradients.Display.IHasLatex
            {
                public string ToLatex() => "x^2\n+ 1";
                public override string ToString() => "x^2 + 1";
            }
            new Eq()
            """);
        var values = Displayed(events);
        // Line breaks become spaces: markdown maths must stay on one line.
        Assert.Equal("$$x^2 + 1$$", values.Single(v => v.MimeType == "text/latex").Value);
        Assert.Equal("$$x^2 + 1$$", values.Single(v => v.MimeType == "text/markdown").Value);
    }

    [Fact]
    public async Task Image_grid_shows_as_base64_png()
    {
        var events = await Run("""
            new InputGradients.Display.ImageGrid().Heatmap(new double[,] { { 0, 1 }, { 2, 3 } }, "map").PanelSize(20)
            """);
        var values = Displayed(events);
        Assert.Equal(["image/png", "text/plain"], values.Select(v => v.MimeType));
        var png = Convert.FromBase64String(values[0].Value);
        using var bmp = SKBitmap.Decode(png);
        Assert.NotNull(bmp);
        Assert.Equal(6 + 20 + 6, bmp.Width);
    }

    [Fact]
    public async Task Tensor_image_via_Display_and_tensors_keep_their_own_formatting()
    {
        var events = await Run("""
            using TorchSharp;
            var t = torch.zeros(3, 8, 8);
            InputGradients.Display.ImageGrid.Of(t, "zeros").Display();
            t
            """);
        var first = Displayed(events, 0);
        Assert.Equal("image/png", first[0].MimeType);
        // We never register formatters for Tensor: its display is whatever .NET Interactive does by default.
        var second = Displayed(events, 1);
        Assert.DoesNotContain(second, v => v.MimeType == "image/png");
    }

    [Fact]
    public async Task Charts_are_html_with_plotly_inlined_once_and_no_CDN()
    {
        var events = await Run("""
            Plotly.NET.GenericChart Line() {
                var trace = new Plotly.NET.Trace("scatter");
                trace.SetProperty("x", new[] { 1.0, 2.0 });
                trace.SetProperty("y", new[] { 3.0, 1.0 });
                return Plotly.NET.GenericChart.ofTraceObject(true, trace);
            }
            Line().Display();
            Line().Display();
            """);
        var html = events.OfType<DisplayedValueProduced>()
            .Select(e => e.FormattedValues.Single(v => v.MimeType == "text/html").Value).ToList();
        Assert.Equal(2, html.Count);
        foreach (var h in html)
        {
            Assert.Contains("Plotly.newPlot", h);
            Assert.DoesNotMatch(new System.Text.RegularExpressions.Regex(@"<script[^>]*\bsrc\s*="), h); // nothing fetched
            Assert.DoesNotContain("require.config", h);
        }
        // Library inlined in exactly one of them (the process may already have shown a chart in another test).
        Assert.True(html.Count(h => h.Contains("plotly.js v2.28.0")) <= 1);
        Assert.Contains("window.Plotly", html[1]);
    }

    [Fact]
    public async Task Progress_updates_one_display()
    {
        var events = await Run("""
            var p = InputGradients.Interactive.Progress.Show("fooling");
            for (int i = 1; i <= 50; i++) p.Report(i, 50);
            """);
        var produced = events.OfType<DisplayedValueProduced>().ToList();
        Assert.Single(produced);
        Assert.Contains("<progress", produced[0].FormattedValues.Single(v => v.MimeType == "text/html").Value);
        var updates = events.OfType<DisplayedValueUpdated>().ToList();
        Assert.NotEmpty(updates);
        Assert.True(updates.Count < 10, $"{updates.Count} updates for 50 fast steps: not throttled");
        Assert.All(updates, u => Assert.Equal(produced[0].ValueId, u.ValueId));
        Assert.Contains("50/50", updates[^1].FormattedValues.Single(v => v.MimeType == "text/plain").Value);
    }
}
