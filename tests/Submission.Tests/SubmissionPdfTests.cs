using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace Submission.Tests;

/// <summary>
/// Converts a small fixture notebook and inspects the PDF itself with poppler's tools (pdfinfo, pdftotext,
/// pdfimages, pdftoppm): page count, a page break at each sub-question, maths typeset, image and chart present.
/// </summary>
public sealed class SubmissionPdfTests(FixturePdf fixture) : IClassFixture<FixturePdf>
{
    readonly string _dir = fixture.Dir;
    readonly string _pdf = fixture.Pdf;

    [Fact]
    public void Each_sub_question_starts_a_new_page()
    {
        Assert.Equal(5, Pages(_pdf)); // title page, intro, Q9.1, Q9.2, Q9.3
        Assert.StartsWith("Fixture notebook", PageText(2));
        Assert.StartsWith("Q9.1 Matrices", PageText(3));
        Assert.StartsWith("Q9.2 Pictures", PageText(4));
        Assert.StartsWith("Q9.3 Charts", PageText(5));
    }

    [Fact]
    public void In_the_combined_pdf_a_notebook_after_one_with_a_chart_starts_a_new_page()
    {
        // The second notebook opens with a level-1 heading (not a sub-question), right after the first one's chart:
        // plotly.js puts an element between the two notebooks, which once kept the page break from applying.
        var combined = fixture.Combined;
        Assert.Equal(6, Pages(combined));
        Assert.StartsWith("Q9.3 Charts", FixturePdf.PageText(combined, 5));
        Assert.DoesNotContain("Second notebook", FixturePdf.PageText(combined, 5));
        Assert.StartsWith("Q9b Second notebook", FixturePdf.PageText(combined, 6));
    }

    [Fact]
    public void Every_pdf_starts_with_the_title_page_from_the_student_file()
    {
        foreach (var pdf in new[] { _pdf, fixture.Combined })
        {
            var first = PageText(pdf, 1);
            Assert.StartsWith("Fixture", first);
            Assert.Contains("Name: Ada Fixture-Lovelace", first);
            Assert.Contains("Collaborators: Charles Babbage, Mary Somerville", first);
            Assert.DoesNotContain("Q9.1", first);   // a page of its own
        }
        Assert.Contains("Q9b-second", PageText(fixture.Combined, 1)); // the combined PDF's contents name both notebooks
    }

    [Fact]
    public void Maths_is_typeset_not_left_as_source()
    {
        var text = FixturePdf.Run("pdftotext", _pdf, "-");
        Assert.DoesNotContain("$", text);
        Assert.DoesNotContain("\\begin{bmatrix}", text);
        Assert.DoesNotContain("\\frac", text);
        Assert.Contains("The matrix is", text);
    }

    [Fact]
    public void Long_code_lines_are_wrapped_not_clipped()
    {
        var text = PageText(3);
        Assert.Contains("END_OF_A_VERY_LONG_LINE", text.Replace("\n", "").Replace(" ", ""));
    }

    [Fact]
    public void The_image_output_is_in_the_pdf()
    {
        var list = FixturePdf.Run("pdfimages", "-list", "-f", "4", "-l", "4", _pdf);
        Assert.True(list.Split('\n').Length > 3, "no raster image on the page of Q9.2:\n" + list);
    }

    [Fact]
    public void The_chart_is_drawn()
    {
        // Plotly draws SVG, so the chart is vector: its axis title is text, and its red trace shows as red pixels.
        Assert.Contains("fixture-axis-title", PageText(5));
        var png = Path.Combine(_dir, "chart");
        FixturePdf.Run("pdftoppm", "-r", "60", "-png", "-f", "5", "-l", "5", _pdf, png);
        using var bitmap = SKBitmap.Decode(Directory.GetFiles(_dir, "chart*.png").Single());
        var red = 0;
        for (var y = 0; y < bitmap.Height; y++)
            for (var x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red > 200 && c.Green < 80 && c.Blue < 80) red++;
            }
        Assert.True(red > 50, $"only {red} red pixels: the chart's trace was not drawn");
    }

    string PageText(int page) => FixturePdf.PageText(_pdf, page);

    static string PageText(string pdf, int page) => FixturePdf.PageText(pdf, page);

    internal static int Pages(string pdf) =>
        int.Parse(FixturePdf.Run("pdfinfo", pdf).Split('\n').First(l => l.StartsWith("Pages:"))[6..].Trim());
}

/// <summary>Builds the fixture notebook's PDF once for all the checks.</summary>
public sealed class FixturePdf : IAsyncLifetime
{
    internal static readonly string Root = InputGradients.Shared.RepositoryRoot.Find();
    public string Dir { get; } = Directory.CreateTempSubdirectory("submission-test-").FullName;
    public string Pdf { get; private set; } = "";
    public string Combined { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var notebooks = Directory.CreateDirectory(Path.Combine(Dir, "executed")).FullName;
        var source = Path.Combine(notebooks, "Q9-fixture.ipynb");
        File.WriteAllText(source, FixtureNotebook());
        File.WriteAllText(Path.Combine(notebooks, "Q9b-second.ipynb"), SecondNotebook());
        var before = File.ReadAllBytes(source);
        var student = Path.Combine(Dir, "student.json");
        File.WriteAllText(student, """{ "name": "Ada Fixture-Lovelace", "collaborators": ["Charles Babbage", "Mary Somerville"] }""");
        // The fixture is its own problem set (the repository's notebooks/ defines the real one).
        var options = new Options(notebooks, Path.Combine(Dir, "out"), Root, "Fixture", ProblemSet: notebooks, StudentFile: student);
        Assert.Equal(0, await Builder.RunAsync(options, TextWriter.Null));
        Assert.Equal(before, File.ReadAllBytes(source)); // the notebook it read is untouched
        Pdf = Path.Combine(Dir, "out", "Q9-fixture.pdf");
        Combined = Path.Combine(Dir, "out", Builder.CombinedName + ".pdf");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }

    public static string PageText(string pdf, int page) =>
        Run("pdftotext", "-f", page.ToString(), "-l", page.ToString(), pdf, "-").TrimStart();


    public static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} failed: {error}");
        return output;
    }

    static string SecondNotebook() => """
        {"cells":[{"cell_type":"markdown","metadata":{},"source":"# Q9b Second notebook\nIt follows a chart."},
                  {"cell_type":"code","metadata":{},"execution_count":1,"source":"1 + 1","outputs":[
                    {"output_type":"execute_result","execution_count":1,"metadata":{},"data":{"text/plain":"2"}}]}],
         "metadata":{},"nbformat":4,"nbformat_minor":5}
        """;

    /// <summary>A notebook as dotnet repl writes it: markdown with maths, code, a PNG and a Plotly chart.</summary>
    static string FixtureNotebook()
    {
        var plotly = File.ReadAllText(Path.Combine(Root, "node_modules", "plotly.js-dist-min", "plotly.min.js"));
        var chart = $$$"""
            <div id="fixture-chart" style="width:600px;height:300px"></div>
            <script>{{{plotly}}}</script>
            <script>Plotly.newPlot('fixture-chart', [{x:[0,1,2,3], y:[0,1,4,9], type:'scatter', line:{color:'rgb(230,20,20)', width:6}}],
              {xaxis:{title:{text:'fixture-axis-title'}}, width:600, height:300});</script>
            """;
        using var bitmap = new SKBitmap(64, 48);
        bitmap.Erase(new SKColor(20, 90, 200));
        var png = Convert.ToBase64String(bitmap.Encode(SKEncodedImageFormat.Png, 100).ToArray());
        JsonObject Markdown(string s) => new() { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = s };
        JsonObject Code(string s, params JsonObject[] outputs) => new()
        {
            ["cell_type"] = "code", ["metadata"] = new JsonObject(), ["source"] = s, ["execution_count"] = 1,
            ["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)o).ToArray()),
        };
        JsonObject Display(string mime, string value) => new()
        {
            ["output_type"] = "display_data", ["metadata"] = new JsonObject(), ["data"] = new JsonObject { [mime] = value },
        };
        var nb = new JsonObject
        {
            ["cells"] = new JsonArray(
                Markdown("# Fixture notebook\nAn introduction with inline maths $a^2 + b^2 = c^2$."),
                Markdown("## Q9.1 Matrices\nThe matrix is\n$$A = \\begin{bmatrix} w_{(0,0)} & 0 \\\\ 0 & \\frac{1}{2} \\end{bmatrix}$$"),
                Code("var x = 1; // " + string.Join(" ", Enumerable.Repeat("long", 60)) + " END_OF_A_VERY_LONG_LINE",
                    Display("text/latex", "$$\\begin{bmatrix} 1 & 2 \\end{bmatrix}$$")),
                Markdown("## Q9.2 Pictures"),
                Code("display(image);", Display("image/png", png)),
                Markdown("## Q9.3 Charts"),
                Code("chart", Display("text/html", chart))),
            ["metadata"] = new JsonObject(),
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
        };
        return nb.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
