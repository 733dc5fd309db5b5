using System.Numerics;

namespace InputGradients.Theory;

/// <summary>
/// How many linear pieces a network with ONE hidden layer can have, for the comparison of Q4.
/// Each hidden unit |w·x + b| (or ReLU) bends the function along one hyperplane w·x + b = 0, so the pieces are
/// the regions of an arrangement of n hyperplanes in R^d, of which there are at most
/// sum_{i=0..d} C(n, i) (Zaslavsky 1975; equality in general position).
/// </summary>
public static class ShallowRegions
{
    /// <summary>Maximum number of regions of n hyperplanes in R^d: sum_{i=0}^{d} C(n, i).</summary>
    public static BigInteger MaxRegions(int n, int d)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(d);
        BigInteger sum = 0, binomial = 1; // C(n, 0)
        for (var i = 0; i <= Math.Min(n, d); i++)
        {
            sum += binomial;
            binomial = binomial * (n - i) / (i + 1);
        }
        return sum;
    }

    /// <summary>The fewest hidden units a one-hidden-layer network on R^d needs to have at least <paramref name="regions"/> linear pieces.</summary>
    public static int MinWidth(BigInteger regions, int d)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(d, 1);
        var n = 0;
        while (MaxRegions(n, d) < regions) n++;
        return n;
    }
}
