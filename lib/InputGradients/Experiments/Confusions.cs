namespace InputGradients.Experiments;

/// <summary>One off-diagonal entry of a confusion matrix: how many examples of class True were predicted as Predicted.</summary>
public readonly record struct Confusion(int True, int Predicted, long Count);

/// <summary>Where a classifier's mistakes concentrate.</summary>
public static class Confusions
{
    /// <summary>
    /// The <paramref name="k"/> largest off-diagonal entries of a square confusion matrix (row: true class, column:
    /// predicted class), largest first (ties: lower true class, then lower predicted class first).
    /// </summary>
    public static Confusion[] Largest(long[,] confusion, int k)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        int n = confusion.GetLength(0);
        if (confusion.GetLength(1) != n) throw new ArgumentException($"Confusions.Largest: the matrix is {n}×{confusion.GetLength(1)}, not square.");
        if (k < 1 || k > n * (n - 1)) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and {n * (n - 1)}.");
        return Enumerable.Range(0, n).SelectMany(t => Enumerable.Range(0, n).Where(p => p != t).Select(p => new Confusion(t, p, confusion[t, p])))
            .OrderByDescending(c => c.Count).ThenBy(c => c.True).ThenBy(c => c.Predicted).Take(k).ToArray();
    }

    /// <summary>Share of all mistakes (off-diagonal total) that fall between the classes of <paramref name="group"/>, in either direction.</summary>
    public static double ShareWithin(long[,] confusion, IReadOnlyCollection<int> group)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        ArgumentNullException.ThrowIfNull(group);
        long all = 0, within = 0;
        for (int t = 0; t < confusion.GetLength(0); t++)
            for (int p = 0; p < confusion.GetLength(1); p++)
                if (t != p)
                {
                    all += confusion[t, p];
                    if (group.Contains(t) && group.Contains(p)) within += confusion[t, p];
                }
        return all == 0 ? double.NaN : (double)within / all;
    }
}
