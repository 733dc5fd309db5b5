using System.Net;
using System.Text;
using System.Text.Json;

namespace Submission;

/// <summary>
/// Who submits: the student's name and collaborators, read from <c>student.json</c> at the repository root (the one
/// file a student edits once). The instructions ask for both on the first page, so every PDF starts with a title page
/// made from it; without the file that page is a placeholder that says which file to edit.
/// </summary>
/// <example><code>
/// { "name": "Ada Lovelace", "collaborators": ["Charles Babbage"] }
/// </code></example>
public sealed record StudentInfo(string Name, IReadOnlyList<string> Collaborators)
{
    public const string FileName = "student.json";

    public const string Example = """{ "name": "Ada Lovelace", "collaborators": ["Charles Babbage"] }""";

    /// <summary>The settings file's path for a repository root.</summary>
    public static string PathIn(string root) => System.IO.Path.Combine(root, FileName);

    /// <summary>Reads the file; null when it does not exist. Anything else wrong throws <see cref="InvalidDataException"/>
    /// with one line that names the file.</summary>
    public static StudentInfo? Load(string path)
    {
        if (!File.Exists(path)) return null;
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot be read ({e.Message}).");
        }
        return Parse(text, path);
    }

    /// <summary>Parses the settings; <paramref name="source"/> names the file in error messages.</summary>
    public static StudentInfo Parse(string json, string source)
    {
        string Bad(string why) => $"{source}: {why}; expected for example {Example}";
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e)
        {
            throw new InvalidDataException(Bad($"not valid JSON (line {e.LineNumber + 1}: {FirstLine(e.Message)})"));
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException(Bad("not a JSON object"));
            string? name = null;
            List<string>? collaborators = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "name":
                        if (property.Value.ValueKind != JsonValueKind.String || property.Value.GetString()!.Trim().Length == 0)
                            throw new InvalidDataException(Bad("\"name\" must be a non-empty string"));
                        name = property.Value.GetString()!.Trim();
                        break;
                    case "collaborators":
                        if (property.Value.ValueKind != JsonValueKind.Array
                            || property.Value.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String || c.GetString()!.Trim().Length == 0))
                            throw new InvalidDataException(Bad("\"collaborators\" must be a list of names (use [] for none)"));
                        collaborators = property.Value.EnumerateArray().Select(c => c.GetString()!.Trim()).ToList();
                        break;
                    default:
                        // A misspelt key would otherwise drop what the student meant to say.
                        throw new InvalidDataException(Bad($"unknown key \"{property.Name}\" (only \"name\" and \"collaborators\")"));
                }
            }
            if (name is null) throw new InvalidDataException(Bad("\"name\" is missing"));
            if (collaborators is null) throw new InvalidDataException(Bad("\"collaborators\" is missing (use [] for none)"));
            return new StudentInfo(name, collaborators);
        }
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();

    /// <summary>The title page as HTML: a page of its own before the notebooks. <paramref name="student"/> null gives
    /// the placeholder naming <paramref name="settingsFile"/>.</summary>
    public static string TitlePageHtml(StudentInfo? student, string title, IReadOnlyList<string> notebookNames, string settingsFile)
    {
        var html = new StringBuilder("<section class=\"title-page\">\n");
        html.Append($"<h1>{WebUtility.HtmlEncode(title)}</h1>\n");
        if (student is null)
        {
            html.Append("<p class=\"student-missing\"><strong>Name: NOT SET.</strong> Collaborators: NOT SET.</p>\n");
            html.Append($"<p class=\"student-missing\">Edit <code>{WebUtility.HtmlEncode(settingsFile)}</code> (create it if absent) with your name and collaborators, " +
                        $"for example <code>{WebUtility.HtmlEncode(Example)}</code>, then build the submission again.</p>\n");
        }
        else
        {
            html.Append($"<p class=\"student\"><strong>Name:</strong> {WebUtility.HtmlEncode(student.Name)}</p>\n");
            var with = student.Collaborators.Count == 0 ? "none" : string.Join(", ", student.Collaborators);
            html.Append($"<p class=\"student\"><strong>Collaborators:</strong> {WebUtility.HtmlEncode(with)}</p>\n");
        }
        html.Append("<p class=\"contents\"><strong>Contents:</strong> ")
            .Append(WebUtility.HtmlEncode(string.Join(", ", notebookNames))).Append("</p>\n</section>\n");
        return html.ToString();
    }
}
