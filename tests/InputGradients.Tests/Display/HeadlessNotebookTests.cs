using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using InputGradients.Interactive;

namespace InputGradients.Tests.Display;

/// <summary>
/// Runs a notebook that shows each display type through <c>dotnet repl</c> in a clean process (as CI and the
/// PDF export do) and checks the stored outputs are the mime types nbconvert and the export tool render.
/// </summary>
public class HeadlessNotebookTests
{
    static JsonObject Code(string source) => new()
    {
        ["cell_type"] = "code", ["execution_count"] = null, ["outputs"] = new JsonArray(), ["source"] = source,
        ["metadata"] = new JsonObject
        {
            ["dotnet_interactive"] = new JsonObject { ["language"] = "csharp" },
            ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" },
        },
    };

    [Fact]
    public void Dotnet_repl_stores_latex_png_html_and_one_progress_output()
    {
        var root = TestPaths.Root;
        var dll = typeof(Notebook).Assembly.Location;
        string[] cells =
        [
            $"#r \"{dll}\"\nInputGradients.Interactive.Notebook.Setup();",
            "InputGradients.Display.LatexMatrix.FromSymbols(new[,] { { \"w_{(0,1)}\", \"0\" } })",
            "new InputGradients.Display.ImageGrid().Heatmap(new double[,] { { 0, 1 }, { 2, 3 } }, \"map\")",
            """
            var trace = new Plotly.NET.Trace("scatter");
            trace.SetProperty("x", new[] { 1.0, 2.0 });
            trace.SetProperty("y", new[] { 3.0, 1.0 });
            Plotly.NET.GenericChart.ofTraceObject(true, trace)
            """,
            "using TorchSharp;\nusing InputGradients.Display;\ntorch.rand(3, 16, 16, generator: new torch.Generator(0)).AsImage(\"tensor\")",
            "var p = InputGradients.Interactive.Progress.Show(\"loop\");\nfor (int i = 1; i <= 20; i++) { System.Threading.Thread.Sleep(30); p.Report(i, 20); }",
        ];
        var nb = new JsonObject
        {
            ["cells"] = new JsonArray(cells.Select(c => (JsonNode)Code(c)).ToArray()),
            ["metadata"] = new JsonObject
            {
                ["kernelspec"] = new JsonObject { ["name"] = ".net-csharp", ["display_name"] = ".NET (C#)", ["language"] = "C#" },
                ["polyglot_notebook"] = new JsonObject
                {
                    ["kernelInfo"] = new JsonObject
                    {
                        ["defaultKernelName"] = "csharp",
                        ["items"] = new JsonArray(new JsonObject { ["name"] = "csharp", ["languageName"] = "C#" }),
                    },
                },
            },
            ["nbformat"] = 4, ["nbformat_minor"] = 5,
        };
        var dir = Directory.CreateTempSubdirectory("ig-display-nb-");
        try
        {
            var input = Path.Combine(dir.FullName, "display.ipynb");
            var output = Path.Combine(dir.FullName, "display.out.ipynb");
            File.WriteAllText(input, nb.ToJsonString());
            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "repl", "--run", input, "--exit-after-run", "--output-path", output }) psi.ArgumentList.Add(a);
            using (var restore = Process.Start(new ProcessStartInfo("dotnet", "tool restore") { WorkingDirectory = root, RedirectStandardOutput = true })!)
                restore.WaitForExit(120_000);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(300_000), "dotnet repl timed out");
            Assert.True(p.ExitCode == 0, $"dotnet repl exit code {p.ExitCode}\n{stdout.Result}\n{stderr.Result}\n{(File.Exists(output) ? File.ReadAllText(output)[..Math.Min(4000, (int)new FileInfo(output).Length)] : "")}");

            using var doc = JsonDocument.Parse(File.ReadAllText(output));
            var outputs = doc.RootElement.GetProperty("cells").EnumerateArray()
                .Select(c => c.GetProperty("outputs").EnumerateArray()
                    .Where(o => o.GetProperty("output_type").GetString() is "display_data" or "execute_result")
                    .Select(o => o.GetProperty("data")).ToList())
                .ToList();
            static string Text(JsonElement data, string mime)
                => data.GetProperty(mime) is { ValueKind: JsonValueKind.Array } a
                    ? string.Concat(a.EnumerateArray().Select(x => x.GetString()))
                    : data.GetProperty(mime).GetString()!;

            var latex = Assert.Single(outputs[1]);
            Assert.StartsWith("$$\\begin{bmatrix}", Text(latex, "text/latex"));
            Assert.StartsWith("$$\\begin{bmatrix}", Text(latex, "text/markdown"));

            var png = Convert.FromBase64String(Text(Assert.Single(outputs[2]), "image/png"));
            Assert.Equal(0x89, png[0]);
            Assert.Equal((byte)'P', png[1]);

            var chart = Text(Assert.Single(outputs[3]), "text/html");
            Assert.Contains("plotly.js v2.28.0", chart);
            Assert.Contains("Plotly.newPlot", chart);
            Assert.DoesNotContain("require.config", chart);

            var tensorPng = Convert.FromBase64String(Text(Assert.Single(outputs[4]), "image/png"));
            Assert.Equal(0x89, tensorPng[0]);

            var progress = Assert.Single(outputs[5]); // one output, not one per update
            Assert.Contains("20/20", Text(progress, "text/plain"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
