namespace Submission;

/// <summary>
/// Which notebooks make up the problem set: those in the repository's <c>notebooks/</c> folder (or
/// <see cref="Options.ProblemSet"/>), by name. The one place that decides what a complete submission holds.
/// </summary>
public static class ProblemSet
{
    /// <summary>Notebook files in a folder; dot-files are scratch copies (e.g. a killed runner's temporary output).</summary>
    public static List<string> NotebooksIn(string folder) =>
        Directory.EnumerateFiles(folder, "*.ipynb").Where(p => !Path.GetFileName(p).StartsWith('.')).Order(StringComparer.Ordinal).ToList();

    /// <summary>The executed notebooks to submit: one per problem-set notebook, in order. Throws naming the missing
    /// ones unless <see cref="Options.AllowPartial"/>; notebooks that are not part of the problem set are left out.</summary>
    public static List<string> Select(Options o, TextWriter log)
    {
        if (!Directory.Exists(o.ProblemSetFolder) || NotebooksIn(o.ProblemSetFolder).Count == 0)
            throw new DirectoryNotFoundException(
                $"No notebooks in {o.ProblemSetFolder}, so which notebooks make up the problem set is unknown; pass --root or --problem-set.");
        var expected = NotebooksIn(o.ProblemSetFolder).Select(Path.GetFileNameWithoutExtension).ToList();
        var present = NotebooksIn(o.Notebooks).ToDictionary(p => Path.GetFileNameWithoutExtension(p)!, StringComparer.Ordinal);

        foreach (var extra in present.Keys.Except(expected!).Order(StringComparer.Ordinal))
            log.WriteLine($"leaving out {extra}: not a notebook of the problem set (not in {o.ProblemSetFolder})");
        var missing = expected.Where(n => !present.ContainsKey(n!)).ToList();
        if (missing.Count > 0 && !o.AllowPartial)
            throw new InvalidOperationException(
                $"Refusing to build an incomplete submission: {o.Notebooks} has no executed copy of {missing.Count} of the " +
                $"{expected.Count} problem-set notebooks ({string.Join(", ", missing)}; the problem set is the notebooks in " +
                $"{o.ProblemSetFolder}). Run them (./run notebooks), or pass --allow-partial to build a partial submission.");
        var selected = expected.Where(n => present.ContainsKey(n!)).Select(n => present[n!]).ToList();
        if (selected.Count == 0)
            throw new InvalidOperationException($"None of the notebooks in {o.Notebooks} is part of the problem set ({o.ProblemSetFolder}).");
        if (missing.Count > 0)
            log.WriteLine($"PARTIAL submission (--allow-partial): {selected.Count} of {expected.Count} notebooks; missing {string.Join(", ", missing)}");
        return selected;
    }
}
