using System.Text.RegularExpressions;

namespace NotebookRunner;

/// <summary>Turns command-line names into notebook paths.</summary>
public static class NotebookSelection
{
    /// <summary>
    /// No names: every .ipynb directly in <paramref name="notebooksDirectory"/>. Otherwise each name is a path, a
    /// name in that folder (".ipynb" optional), or a glob (<c>*</c>, <c>?</c> in the file name part) matched against
    /// the folder it names, or against <paramref name="notebooksDirectory"/> if it names none.
    /// </summary>
    public static List<string> Resolve(IReadOnlyList<string> names, string notebooksDirectory)
    {
        var found = new List<string>();
        if (names.Count == 0)
        {
            if (Directory.Exists(notebooksDirectory))
                found.AddRange(Directory.EnumerateFiles(notebooksDirectory, "*.ipynb").Where(p => !Path.GetFileName(p).StartsWith('.')));
        }
        foreach (var name in names)
        {
            var dir = Path.GetDirectoryName(name);
            var file = Path.GetFileName(name);
            if (file.IndexOfAny(['*', '?']) >= 0)
            {
                var folder = string.IsNullOrEmpty(dir) ? notebooksDirectory : dir;
                var regex = new Regex("^" + Regex.Escape(file).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.IgnoreCase);
                var matches = Directory.Exists(folder)
                    ? Directory.EnumerateFiles(folder).Where(p => regex.IsMatch(Path.GetFileName(p)) && p.EndsWith(".ipynb", StringComparison.Ordinal)).ToList()
                    : [];
                if (matches.Count == 0) throw new RunnerException($"no notebook matches {name} (looked in {folder})");
                found.AddRange(matches);
                continue;
            }
            var candidates = new[] { name, name + ".ipynb", Path.Combine(notebooksDirectory, name), Path.Combine(notebooksDirectory, name + ".ipynb") };
            var hit = candidates.FirstOrDefault(c => File.Exists(c) && c.EndsWith(".ipynb", StringComparison.Ordinal))
                ?? throw new RunnerException($"no notebook named {name} (tried {string.Join(", ", candidates.Distinct())})");
            found.Add(hit);
        }

        var unique = found.Select(Path.GetFullPath).Distinct().Order(StringComparer.Ordinal).ToList();
        var clash = unique.GroupBy(Path.GetFileName).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new RunnerException($"two notebooks would write the same output {clash.Key}: {string.Join(", ", clash)}");
        return unique;
    }
}
