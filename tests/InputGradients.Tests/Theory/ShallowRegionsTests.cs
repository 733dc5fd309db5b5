using InputGradients.Theory;

namespace InputGradients.Tests.Theory;

public class ShallowRegionsTests
{
    [Theory]
    [InlineData(0, 2, 1)]
    [InlineData(1, 1, 2)]
    [InlineData(5, 1, 6)]      // n points cut a line into n + 1 intervals
    [InlineData(3, 2, 7)]      // three lines in general position: 7 regions
    [InlineData(4, 2, 11)]
    [InlineData(4, 3, 15)]     // four planes in general position
    [InlineData(3, 5, 8)]      // n <= d: all 2^n sign patterns
    public void Matches_known_arrangement_counts(int n, int d, int expected) =>
        Assert.Equal(expected, (int)ShallowRegions.MaxRegions(n, d));

    /// <summary>
    /// Independent check by geometry: in a generic arrangement every region has a vertex, so probing a tiny
    /// neighbourhood of every vertex (each sign choice of the d hyperplanes through it) visits every region.
    /// Counting the distinct sign vectors found must give Zaslavsky's number.
    /// </summary>
    [Theory]
    [InlineData(2, 2, 1)]
    [InlineData(5, 2, 2)]
    [InlineData(7, 2, 3)]
    [InlineData(4, 3, 4)]
    [InlineData(6, 3, 5)]
    public void Random_arrangements_have_the_maximum_number_of_regions(int n, int d, int seed)
    {
        var rng = new Random(seed);
        var a = new double[n][];
        var b = new double[n];
        for (var i = 0; i < n; i++)
        {
            a[i] = Enumerable.Range(0, d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            b[i] = rng.NextDouble() * 2 - 1;
        }
        var patterns = new HashSet<string>();
        foreach (var subset in Subsets(n, d))
        {
            var m = subset.Select(i => a[i]).ToArray();
            var vertex = Solve(m, subset.Select(i => -b[i]).ToArray());
            for (var mask = 0; mask < 1 << d; mask++)
            {
                var signs = Enumerable.Range(0, d).Select(k => (mask >> k & 1) == 1 ? 1e-7 : -1e-7).ToArray();
                var offset = Solve(m, signs);
                var x = vertex.Zip(offset, (v, o) => v + o).ToArray();
                patterns.Add(string.Concat(Enumerable.Range(0, n).Select(i => Dot(a[i], x) + b[i] > 0 ? '+' : '-')));
            }
        }
        Assert.Equal(ShallowRegions.MaxRegions(n, d), patterns.Count);
    }

    [Fact]
    public void Min_width_is_the_first_width_that_reaches_the_count()
    {
        Assert.Equal(3, ShallowRegions.MinWidth(7, 2));
        Assert.Equal(4, ShallowRegions.MinWidth(8, 2));
        Assert.Equal(15, ShallowRegions.MinWidth(16, 1));
    }

    static double Dot(double[] u, double[] v) => u.Zip(v, (p, q) => p * q).Sum();

    static IEnumerable<int[]> Subsets(int n, int k) =>
        k == 0 ? [[]] : Enumerable.Range(0, n).SelectMany(first =>
            Subsets(n, k - 1).Where(rest => rest.All(r => r > first)).Select(rest => (int[])[first, .. rest]));

    /// <summary>Gaussian elimination with partial pivoting (small dense systems).</summary>
    static double[] Solve(double[][] m, double[] rhs)
    {
        var d = rhs.Length;
        var aug = m.Select((row, i) => row.Append(rhs[i]).ToArray()).ToArray();
        for (var c = 0; c < d; c++)
        {
            var p = Enumerable.Range(c, d - c).MaxBy(r => Math.Abs(aug[r][c]));
            (aug[c], aug[p]) = (aug[p], aug[c]);
            for (var r = 0; r < d; r++)
            {
                if (r == c) continue;
                var f = aug[r][c] / aug[c][c];
                for (var k = c; k <= d; k++) aug[r][k] -= f * aug[c][k];
            }
        }
        return Enumerable.Range(0, d).Select(i => aug[i][d] / aug[i][i]).ToArray();
    }
}
