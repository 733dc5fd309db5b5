using InputGradients.Display;

namespace InputGradients.Tests.Display;

public sealed class SourceListingTests : IDisposable
{
    readonly string _file = Path.Combine(Path.GetTempPath(), $"listing-{Guid.NewGuid():N}.cs");

    public void Dispose() => File.Delete(_file);

    const string Sample = """
        namespace Sample;

        /// <summary>A type.</summary>
        public sealed class Shapes(int size) : IDisposable
        {
            /// <summary>Braces in strings, chars and comments do not count: "}" '{' // }</summary>
            /// <param name="x">x</param>
            public static string Describe(int x)
            {
                var s = $"{x} is {(x > 0 ? "positive }" : $"not {"{"}")} ";   // } in a comment
                var c = '}';
                /* } */
                if (x < 0 && x > -10) { return @"a ""}"" b" + c; }
                return s;
            }

            [Obsolete("old")]
            int Area() => size * size;

            public void Dispose() { }

            void Uses() { Describe(1); var a = Area(); }
        }

        public static class Other
        {
            public static int Area(int w, int h) => w * h;
        }
        """;

    string Write()
    {
        File.WriteAllText(_file, Sample + "\n");
        return _file;
    }

    /// <summary>Lines first..last of the sample with the common indentation removed: what a listing must show.</summary>
    static string Lines(int first, int last)
    {
        var lines = Sample.Split('\n')[(first - 1)..last];
        int common = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
        return string.Join('\n', lines.Select(l => l.Length >= common ? l[common..] : l.TrimStart(' ')));
    }

    [Fact]
    public void A_method_runs_from_its_doc_comment_to_its_closing_brace_whatever_its_strings_hold()
    {
        var listing = SourceListing.FromFile(Write(), "Describe");
        Assert.Equal((6, 15), (listing.FirstLine, listing.LastLine));
        Assert.Equal(Lines(6, 15), listing.Text);
        Assert.StartsWith("/// <summary>Braces", listing.Text);
        Assert.EndsWith("    return s;\n}", listing.Text);
    }

    [Fact]
    public void Expression_bodied_member_starts_at_its_attribute_and_ends_at_its_semicolon()
    {
        var listing = SourceListing.FromFile(Write(), "Shapes.Area");
        Assert.Equal(Lines(17, 18), listing.Text);
        Assert.Equal("[Obsolete(\"old\")]\nint Area() => size * size;", listing.Text);
    }

    [Fact]
    public void A_type_is_listed_whole_and_calls_are_not_declarations()
    {
        var listing = SourceListing.FromFile(Write(), "Shapes");
        Assert.Equal(Lines(3, 23), listing.Text);
        Assert.Equal(Lines(22, 22), SourceListing.FromFile(_file, "Uses").Text);
    }

    [Fact]
    public void Unknown_and_ambiguous_names_give_clear_errors()
    {
        Write();
        var missing = Assert.Throws<KeyNotFoundException>(() => SourceListing.FromFile(_file, "make_fooling_image"));
        Assert.Contains("no declaration of 'make_fooling_image'", missing.Message);
        Assert.Contains(_file, missing.Message);
        var twice = Assert.Throws<ArgumentException>(() => SourceListing.FromFile(_file, "Area"));
        Assert.Contains("declared 2 times", twice.Message);
        Assert.Contains("Type.Area", twice.Message);
        Assert.Throws<KeyNotFoundException>(() => SourceListing.FromFile(_file, "Other.Describe"));
        var noFile = Assert.Throws<FileNotFoundException>(() => SourceListing.Of("Attribution/NoSuchFile.cs", "x"));
        Assert.Contains("NoSuchFile.cs", noFile.Message);
    }

    [Fact]
    public void Html_escapes_markup_and_colours_keywords_strings_and_comments()
    {
        var listing = SourceListing.FromFile(Write(), "Describe");
        var html = listing.ToHtml();
        Assert.Contains("white-space: pre-wrap", html);
        Assert.DoesNotContain("<param", html);                    // the doc comment's tags are text, not markup
        Assert.Contains("<span style=\"color: #0000c0;\">return</span>", html);
        Assert.Contains("<span style=\"color: #a31515;\">'}'</span>", html);
        Assert.Contains("<span style=\"color: #2e7d32;\">// } in a comment</span>", html);
        // Without the tags, what is left is the caption and the code with < > & " escaped.
        var text = System.Text.RegularExpressions.Regex.Replace(html, "<[^>]+>", "");
        Assert.Contains("x &lt; 0 &amp;&amp; x &gt; -10", text);
        Assert.Contains("&lt;param name=&quot;x&quot;&gt;", text);
        Assert.EndsWith(listing.Text, System.Net.WebUtility.HtmlDecode(text));
        Assert.Contains("lines 6–15", text);
    }

    [Theory]
    [InlineData("Attribution/Saliency.cs", "compute_saliency_maps")]
    [InlineData("Synthesis/FoolingImage.cs", "make")]
    [InlineData("Synthesis/ClassVisualization.cs", "create")]
    [InlineData("Synthesis/Style/StyleLosses.cs", "gram_matrix")]
    [InlineData("Layer/GradCam.cs", "GradCam")]
    public void The_library_own_functions_are_found_in_its_source(string file, string member)
    {
        var listing = SourceListing.Of(file, member);
        var lines = File.ReadAllLines(Path.Combine(SourceListing.LibraryFolder(), file));
        Assert.Equal(lines[listing.FirstLine - 1].Trim(), listing.Text.Split('\n')[0].Trim());
        Assert.Equal(lines[listing.LastLine - 1].Trim(), listing.Text.Split('\n')[^1].Trim());
        Assert.Matches(@"^(///|\[|public|internal|static|private|protected)", listing.Text);
        Assert.EndsWith("}", listing.Text);
        Assert.Contains(member, listing.Text.Split('\n').First(l => !l.TrimStart().StartsWith("///")));
        Assert.Equal("lib/InputGradients/" + file, listing.File);
    }

    /// <summary>Every <c>SourceListing.Of("file", "member")</c> call in the notebooks, with the notebook, the cell index
    /// and the nearest sub-question heading above it.</summary>
    static List<(string Notebook, int Cell, string Section, string File, string Member)> NotebookListings()
    {
        var folder = Path.Combine(Path.GetDirectoryName(SourceListing.LibraryFolder())!, "..", "notebooks");
        var found = new List<(string, int, string, string, string)>();
        foreach (var path in Directory.GetFiles(folder, "*.ipynb").Order(StringComparer.Ordinal))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            var section = "";
            var cells = doc.RootElement.GetProperty("cells").EnumerateArray().ToList();
            for (var c = 0; c < cells.Count; c++)
            {
                var source = string.Concat(cells[c].GetProperty("source").EnumerateArray().Select(l => l.GetString()));
                if (cells[c].GetProperty("cell_type").GetString() == "markdown" && source.StartsWith("## ")) section = source.Split('\n')[0];
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(source, @"SourceListing\.Of\(""([^""]+)"",\s*""([^""]+)""\)"))
                    found.Add((Path.GetFileNameWithoutExtension(path), c, section, m.Groups[1].Value, m.Groups[2].Value));
            }
        }
        return found;
    }

    [Fact]
    public void Every_listing_in_the_notebooks_shows_exactly_the_file_lines_it_names()
    {
        var listings = NotebookListings();
        Assert.True(listings.Count >= 10, $"only {listings.Count} listings in the notebooks");
        foreach (var (notebook, cell, _, file, member) in listings)
        {
            var listing = SourceListing.Of(file, member);
            // Independently of the extractor: the file's lines FirstLine..LastLine, common indentation removed.
            var lines = File.ReadAllLines(Path.Combine(SourceListing.LibraryFolder(), file))[(listing.FirstLine - 1)..listing.LastLine];
            int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
            var expected = string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : ""));
            Assert.True(expected == listing.Text, $"{notebook} cell {cell + 1}: {file} {member} differs from the file's lines {listing.FirstLine}-{listing.LastLine}");
            // What the HTML shows, once its markup is gone, is that text after the caption.
            var html = listing.ToHtml();
            var code = html[html.IndexOf("<code>", StringComparison.Ordinal)..];
            var shown = System.Net.WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Replace(code, "<[^>]+>", ""));
            Assert.Equal(listing.Text, shown);
            Assert.Contains($"{listing.File}, lines {listing.FirstLine}–{listing.LastLine}", html);
            Assert.Contains("white-space: pre-wrap", html);   // long lines wrap in the PDF instead of being cut
        }
    }

    [Fact]
    public void The_functions_the_assignment_asks_for_are_each_listed_and_the_style_losses_in_their_own_sections()
    {
        var listings = NotebookListings();
        foreach (var member in new[] { "compute_saliency_maps", "make", "create", "jitter", "gaussian_blur", "GuidedReluFunction", "GradCam",
                                       "content_loss", "gram_matrix", "style_loss", "tv_loss" })
            Assert.Contains(listings, l => l.Member == member);
        foreach (var (member, section) in new[] { ("content_loss", "## Q6.B1"), ("gram_matrix", "## Q6.B2"), ("style_loss", "## Q6.B3"), ("tv_loss", "## Q6.B4") })
        {
            var l = Assert.Single(listings, l => l.Member == member);
            Assert.Equal(("Q6-B-style-transfer", "Synthesis/Style/StyleLosses.cs"), (l.Notebook, l.File));
            Assert.StartsWith(section, l.Section);
        }
    }
}
