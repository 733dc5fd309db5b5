using System.Text.Json.Nodes;
using InputGradients.Shared;

namespace InputGradients.Tests.Notebooks;

/// <summary>
/// Every notebook, cell by cell, through the kernel that VS Code runs (<see cref="StdioKernel"/>), not only through
/// <c>dotnet repl</c> (which <c>./run notebooks</c> uses): what a student sees there must hold here too. Needs
/// <c>./run build</c> (the notebooks reference the built library) and <c>dotnet tool restore</c> (the pinned kernel).
/// </summary>
public class VsCodeKernelTests
{
    static readonly string NotebooksFolder = Path.Combine(TestPaths.Root, "notebooks");
    static readonly TimeSpan CellTimeout = TimeSpan.FromMinutes(15);

    public static TheoryData<string> Notebooks =>
        new(Directory.GetFiles(NotebooksFolder, "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    /// <summary>What each notebook must show at least (the display kinds its figures and maths need).</summary>
    static readonly Dictionary<string, string[]> Shows = new()
    {
        ["Q1-convolution.ipynb"] = ["text/latex"],
        ["Q2-logic.ipynb"] = ["text/latex", "plotly"],
        ["Q3-depth.ipynb"] = ["text/latex", "plotly"],
        ["Q6-0-models.ipynb"] = ["image/png"],
        ["Q6-A-network-visualization.ipynb"] = ["image/png"],
        ["Q6-A-optional-trust.ipynb"] = ["image/png"],
        ["Q6-B-style-transfer.ipynb"] = ["image/png"],
    };

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_runs_in_the_kernel_VS_Code_starts(string name)
    {
        var cells = CodeCells(Path.Combine(NotebooksFolder, name));
        Assert.NotEmpty(cells);
        using var kernel = new StdioKernel(NotebooksFolder);
        var kinds = new HashSet<string>();
        bool setupRan = false;
        for (int i = 0; i < cells.Count; i++)
        {
            var events = kernel.Submit(cells[i], CellTimeout);
            var failed = events.FirstOrDefault(e => Type(e) is "CommandFailed" or "ErrorProduced");
            Assert.True(failed is null, $"{name}, code cell {i + 1} ({FirstLine(cells[i])}) failed in the VS Code kernel: " +
                                        $"{Shorten(failed?["event"]?["message"]?.GetValue<string>())}");
            if (IsSetup(cells[i]))
            {
                setupRan = true;
                var printed = string.Concat(events.Where(e => Type(e) == "StandardOutputValueProduced").SelectMany(Values).Select(v => v.Value));
                Assert.Matches(@"^TorchSharp \S+, libtorch \S+, .*convolutions: ", printed);
            }
            foreach (var (mime, value) in events.Where(e => Type(e) is "DisplayedValueProduced" or "ReturnValueProduced" or "DisplayedValueUpdated").SelectMany(Values))
            {
                AssertRendersOffline(name, i, mime, value);
                kinds.Add(mime == "text/html" && value.Contains("Plotly.newPlot", StringComparison.Ordinal) ? "plotly" : mime);
            }
        }
        Assert.True(setupRan, $"{name} has no cell calling Notebook.Setup()");
        foreach (var kind in Shows.GetValueOrDefault(name, []))
            Assert.True(kinds.Contains(kind), $"{name} showed no {kind} output in the VS Code kernel; it showed: {string.Join(", ", kinds.Order())}");
    }

    [Fact]
    public void A_Plotly_NET_chart_made_in_a_cell_renders_offline()
    {
        var setup = CodeCells(Path.Combine(NotebooksFolder, "Q1-convolution.ipynb")).First(IsSetup);
        using var kernel = new StdioKernel(NotebooksFolder);
        Assert.DoesNotContain(kernel.Submit(setup, CellTimeout), e => Type(e) == "CommandFailed");
        // Plotly.NET directly, not through the library's helpers. From C#, its F# optional arguments cannot be left out,
        // so the trace is built as lib/InputGradients/Theory/TheoryCharts does: a Trace2D with plotly.js properties.
        var events = kernel.Submit("""
            using Plotly.NET;
            var trace = new Trace2D("scatter");
            trace.SetProperty("x", new[] { 0.0, 1.0, 2.0 });
            trace.SetProperty("y", new[] { 0.0, 1.0, 4.0 });
            trace.SetProperty("name", "made-in-a-cell");
            GenericChart.ofTraceObject(true, trace)
            """, CellTimeout);
        var failed = events.FirstOrDefault(e => Type(e) == "CommandFailed");
        Assert.True(failed is null, Shorten(failed?["event"]?["message"]?.GetValue<string>()));
        var html = events.Where(e => Type(e) is "DisplayedValueProduced" or "ReturnValueProduced").SelectMany(Values)
            .Where(v => v.Mime == "text/html").Select(v => v.Value).FirstOrDefault();
        Assert.NotNull(html);
        Assert.Contains("made-in-a-cell", html);
        Assert.Contains("Plotly.newPlot", html);
        AssertRendersOffline("a cell", 1, "text/html", html);
    }

    /// <summary>Images decode as PNG; HTML loads no script from the network (plotly.js is inlined by the library's formatter).</summary>
    static void AssertRendersOffline(string notebook, int cell, string mime, string value)
    {
        string where = $"{notebook}, code cell {cell + 1}";
        if (mime == "image/png")
        {
            var bytes = Convert.FromBase64String(value);
            Assert.True(bytes.AsSpan().StartsWith(PngSignature), $"{where}: image/png output is not a PNG");
        }
        if (mime == "text/html" && value.Contains("Plotly", StringComparison.Ordinal))
        {
            Assert.DoesNotMatch(@"<script[^>]+src=[""']https?://", value);
            Assert.DoesNotContain("require.config", value);
        }
    }

    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The C# cells, as the extension sends them (every code cell of ours is C#: NotebookFileTests checks it).</summary>
    internal static List<string> CodeCells(string path) =>
        Ipynb.Cells(Ipynb.Load(path)).Where(c => Ipynb.CellType(c!) == "code").Select(c => Ipynb.Source(c!)).ToList();

    static bool IsSetup(string code) => code.Contains("Notebook.Setup()", StringComparison.Ordinal);

    static string Type(JsonObject e) => e["eventType"]?.GetValue<string>() ?? "";

    static IEnumerable<(string Mime, string Value)> Values(JsonObject e) =>
        (e["event"]?["formattedValues"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(v => (v["mimeType"]?.GetValue<string>() ?? "", v["value"]?.GetValue<string>() ?? ""));

    static string FirstLine(string code) => code.Split('\n').FirstOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";

    static string Shorten(string? message) => message is null ? "" : message.Length <= 2000 ? message : message[..2000] + " ...";
}
