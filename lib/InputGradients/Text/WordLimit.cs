using System.Text.Json;
using System.Text.RegularExpressions;

namespace InputGradients.Text;

/// <summary>
/// Counts the words of written answers, so a notebook can prove it keeps a word limit
/// (the paper review of Q5: at most 350 words for both answers combined).
/// </summary>
public static partial class WordLimit
{
    /// <summary>
    /// A word is a whitespace-separated token with at least one letter or digit; Markdown and LaTeX
    /// punctuation around it (<c>**</c>, <c>_</c>, <c>$</c>, list bullets, a lone dash) does not count.
    /// </summary>
    public static int CountWords(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        return WordToken().Matches(markdown).Count(m => m.Value.Any(char.IsLetterOrDigit));
    }

    /// <summary>
    /// The answer text of the sections of a notebook whose headings start with one of <paramref name="headings"/>
    /// (e.g. "## Q5.1"): every markdown line after such a heading up to the next heading, leaving out the
    /// heading lines and quoted lines (<c>&gt; …</c>, where the question is restated).
    /// </summary>
    public static string AnswerText(string notebookPath, params string[] headings)
    {
        if (!File.Exists(notebookPath))
            throw new FileNotFoundException(
                $"Notebook '{Path.GetFullPath(notebookPath)}' not found: run this cell from the notebook's own folder.", notebookPath);
        using var doc = JsonDocument.Parse(File.ReadAllText(notebookPath));
        var answer = new List<string>();
        var inSection = false;
        foreach (var cell in doc.RootElement.GetProperty("cells").EnumerateArray())
        {
            if (cell.GetProperty("cell_type").GetString() != "markdown") continue;
            var source = cell.GetProperty("source");
            var text = source.ValueKind == JsonValueKind.Array
                ? string.Concat(source.EnumerateArray().Select(s => s.GetString()))
                : source.GetString() ?? "";
            foreach (var line in text.Split('\n'))
            {
                var trimmed = line.TrimStart();
                if (trimmed.StartsWith('#'))
                {
                    inSection = headings.Any(h => trimmed.StartsWith(h, StringComparison.Ordinal));
                    continue;
                }
                if (inSection && !trimmed.StartsWith('>')) answer.Add(line);
            }
        }
        return string.Join('\n', answer);
    }

    /// <summary>Counts the answer words of the given sections and throws if they exceed <paramref name="limit"/>.</summary>
    public static int Check(string notebookPath, int limit, params string[] headings)
    {
        var text = AnswerText(notebookPath, headings);
        var words = CountWords(text);
        if (words == 0)
            throw new InvalidOperationException($"No answer text found under {string.Join(", ", headings)} in {notebookPath}.");
        if (words > limit)
            throw new InvalidOperationException($"The answers under {string.Join(", ", headings)} have {words} words; the limit is {limit}.");
        return words;
    }

    [GeneratedRegex(@"\S+")]
    private static partial Regex WordToken();
}
