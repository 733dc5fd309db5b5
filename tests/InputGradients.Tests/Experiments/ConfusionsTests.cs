using InputGradients.Experiments;

namespace InputGradients.Tests.Experiments;

public class ConfusionsTests
{
    static readonly long[,] M = { { 50, 3, 7 }, { 1, 40, 0 }, { 7, 2, 30 } };

    [Fact]
    public void Largest_off_diagonal_entries_by_hand()
    {
        var top = Confusions.Largest(M, 3);
        // 7 (0→2) and 7 (2→0) tie: lower true class first; then 3 (0→1).
        Assert.Equal(new[] { new Confusion(0, 2, 7), new Confusion(2, 0, 7), new Confusion(0, 1, 3) }, top);
        Assert.Throws<ArgumentOutOfRangeException>(() => Confusions.Largest(M, 7));
    }

    [Fact]
    public void Share_of_mistakes_within_a_group_by_hand()
    {
        // Mistakes: 3 + 7 + 1 + 0 + 7 + 2 = 20; between classes 0 and 2: 14.
        Assert.Equal(14.0 / 20, Confusions.ShareWithin(M, new[] { 0, 2 }), 12);
        Assert.True(double.IsNaN(Confusions.ShareWithin(new long[,] { { 1, 0 }, { 0, 1 } }, new[] { 0 })));
    }
}
