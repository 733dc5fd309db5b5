using static ToolSupport.Tests.ToolProcess;

namespace Submission.Tests;

/// <summary>The student's settings file (student.json): what is accepted, what is refused and how, and what the
/// submission does without it.</summary>
public sealed class StudentInfoTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("submission-student-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Name_and_collaborators_are_read_trimmed_and_comments_allowed()
    {
        var s = StudentInfo.Parse("""
            // edit once
            { "name": "  Ada Lovelace ", "collaborators": ["Charles Babbage", " Mary Somerville"], }
            """, "student.json");
        Assert.Equal("Ada Lovelace", s.Name);
        Assert.Equal(["Charles Babbage", "Mary Somerville"], s.Collaborators);
        Assert.Empty(StudentInfo.Parse("""{"name":"A","collaborators":[]}""", "x").Collaborators);
    }

    [Theory]
    [InlineData("""{ "name": "A", "collaborators": [] """, "not valid JSON")]
    [InlineData("""["A"]""", "not a JSON object")]
    [InlineData("""{ "collaborators": [] }""", "\"name\" is missing")]
    [InlineData("""{ "name": "  ", "collaborators": [] }""", "\"name\" must be a non-empty string")]
    [InlineData("""{ "name": 7, "collaborators": [] }""", "\"name\" must be a non-empty string")]
    [InlineData("""{ "name": "A" }""", "\"collaborators\" is missing")]
    [InlineData("""{ "name": "A", "collaborators": "B" }""", "\"collaborators\" must be a list of names")]
    [InlineData("""{ "name": "A", "collaborators": ["B", 3] }""", "\"collaborators\" must be a list of names")]
    [InlineData("""{ "name": "A", "colaborators": [] }""", "unknown key \"colaborators\"")]
    public void Bad_settings_are_refused_in_one_line_that_names_the_file(string json, string why)
    {
        var e = Assert.Throws<InvalidDataException>(() => StudentInfo.Parse(json, "/repo/student.json"));
        Assert.StartsWith("/repo/student.json: ", e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_missing_file_is_null_and_the_title_page_says_which_file_to_edit()
    {
        var path = Path.Combine(_dir, "student.json");
        Assert.Null(StudentInfo.Load(path));
        var html = StudentInfo.TitlePageHtml(null, "PS2", ["Q1"], path);
        Assert.Contains("NOT SET", html);
        Assert.Contains(path, html);
    }

    /// <summary>An executed notebook with one sub-question and nothing left to run.</summary>
    string Executed(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "executed")).FullName;
        File.WriteAllText(Path.Combine(folder, name + ".ipynb"), $$$"""
            {"cells":[{"cell_type":"markdown","metadata":{},"source":"## Q9.1 {{{name}}}\nAn answer."}],
             "metadata":{},"nbformat":4,"nbformat_minor":5}
            """);
        return folder;
    }

    [Fact]
    public void A_malformed_file_stops_the_build_with_one_error_line_naming_it()
    {
        var folder = Executed("Q9-one");
        var student = Path.Combine(_dir, "student.json");
        File.WriteAllText(student, """{ "name": "A", "collaborators": """);
        var (exit, text) = Run("submission", _dir, ["--notebooks", folder, "--out", Path.Combine(_dir, "out"), "--root", FixturePdf.Root,
            "--problem-set", folder, "--student", student]);
        Assert.Equal(1, exit);
        var line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"submission: {student}: not valid JSON", line);
        Assert.False(File.Exists(Path.Combine(_dir, "out", "problem-set-2.pdf")));
    }

    [Fact]
    public void Without_the_file_the_pdf_starts_with_a_placeholder_page_and_the_console_warns()
    {
        var folder = Executed("Q9-one");
        var student = Path.Combine(_dir, "no-such-student.json");
        var (exit, text) = Run("submission", _dir, ["--notebooks", folder, "--out", Path.Combine(_dir, "out"), "--root", FixturePdf.Root,
            "--problem-set", folder, "--student", student]);
        Assert.True(exit == 0, text);
        Assert.Contains($"warning: {student} not found", text);
        var first = FixturePdf.PageText(Path.Combine(_dir, "out", "problem-set-2.pdf"), 1);
        Assert.Contains("Name: NOT SET.", first);
        Assert.Contains("no-such-student.json", first.Replace("\n", ""));
        Assert.StartsWith("Q9.1 Q9-one", FixturePdf.PageText(Path.Combine(_dir, "out", "problem-set-2.pdf"), 2));
    }
}
