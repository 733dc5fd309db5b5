namespace InputGradients;

/// <summary>A claim a notebook makes about a computed result was false.</summary>
public sealed class CheckFailedException(string message) : Exception(message);

/// <summary>
/// Notebook self-checks that fail the cell (and so the headless run) instead of printing "False" under prose that
/// claims a match.
/// </summary>
public static class Check
{
    /// <summary>Returns "✓ claim" for printing, or throws <see cref="CheckFailedException"/> naming the claim.</summary>
    public static string That(bool condition, string claim) =>
        condition ? $"✓ {claim}" : throw new CheckFailedException($"Check failed: {claim}");

    /// <summary>The rows, materialised, after checking that every one satisfies <paramref name="holds"/>; throws naming
    /// the first row that does not.</summary>
    public static IReadOnlyList<T> All<T>(IEnumerable<T> rows, Func<T, bool> holds, string claim)
    {
        var list = rows.ToList();
        var bad = list.FindIndex(r => !holds(r));
        if (bad >= 0) throw new CheckFailedException($"Check failed: {claim} (row {bad + 1}: {list[bad]})");
        return list;
    }
}
