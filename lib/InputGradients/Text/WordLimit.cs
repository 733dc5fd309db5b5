using InputGradients.Shared;
using System.Text.RegularExpressions;

namespace InputGradients.Text;

/// <summary>
/// Counts the words of written answers, so a notebook can prove it keeps a word limit
/// (the paper review of Q5: at most 350 words for everything submitted, the paper summary and both answers).
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
    /// The answer text of the sections of a notebook whose headings name one of <paramref name="questions"/>: every
    /// markdown line after such a heading up to the next heading, leaving out the heading lines and quoted lines
    /// (<c>&gt; …</c>, where the question is restated). A heading of any level names question "Q5" if its title is "Q5"
    /// or starts with "Q5 " or "Q5." ("# Q5 Paper review", "## Q5.1 …"; not "## Q51"), so "Q5" takes in the question's
    /// introduction (the paper summary) and all its parts, and a heading naming no question ("### Word count") ends
    /// the answer. Leading "#"s in <paramref name="questions"/> are ignored ("## Q5.1" is "Q5.1").
    /// </summary>
    public static string AnswerText(string notebookPath, params string[] questions)
    {
        if (!File.Exists(notebookPath))
            throw new FileNotFoundException(
                $"Notebook '{Path.GetFullPath(notebookPath)}' not found: run this cell from the notebook's own folder.", notebookPath);
        if (questions.Length == 0) throw new ArgumentException("Name at least one question, e.g. \"Q5\".", nameof(questions));
        var names = questions.Select(Title).ToArray();
        var answer = new List<string>();
        var inSection = false;
        foreach (var cell in Ipynb.Cells(Ipynb.Load(notebookPath)))
        {
            if (Ipynb.CellType(cell!) != "markdown") continue;
            var text = Ipynb.Source(cell!);
            foreach (var line in text.Split('\n'))
            {
                var trimmed = line.TrimStart();
                if (trimmed.StartsWith('#'))
                {
                    var title = Title(trimmed);
                    inSection = names.Any(q => Names(title, q));
                    continue;
                }
                if (inSection && !trimmed.StartsWith('>')) answer.Add(line);
            }
        }
        return string.Join('\n', answer);
    }

    static string Title(string heading) => heading.TrimStart().TrimStart('#').Trim();

    /// <summary>"Q5", "Q5 Paper review" and "Q5.1 Noise" name Q5; "Q51" does not.</summary>
    static bool Names(string title, string question) =>
        question.Length > 0 && title.StartsWith(question, StringComparison.Ordinal) &&
        (title.Length == question.Length || title[question.Length] is ' ' or '.' or ':');

    /// <summary>Counts the words of the given questions' answers (see <see cref="AnswerText"/>) and throws
    /// <see cref="CheckFailedException"/> if they exceed <paramref name="limit"/>, so the notebook cell fails.</summary>
    public static int Check(string notebookPath, int limit, params string[] questions)
    {
        var text = AnswerText(notebookPath, questions);
        var words = CountWords(text);
        if (words == 0)
            throw new InvalidOperationException($"No answer text found under {string.Join(", ", questions)} in {notebookPath}.");
        if (words > limit)
            throw new CheckFailedException($"Check failed: the answers under {string.Join(", ", questions)} have {words} words; the limit is {limit}.");
        return words;
    }

    [GeneratedRegex(@"\S+")]
    private static partial Regex WordToken();
}
