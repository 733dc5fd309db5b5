namespace InputGradients.Metrics;

/// <summary>How alike two maps of the same image are: the measures of Adebayo et al. (2018).</summary>
public static class Similarity
{
    /// <summary>Spearman rank correlation: Pearson correlation of the ranks, ties given their average rank.
    /// <paramref name="absolute"/> compares |a| with |b| (the paper reports both). NaN when either map is constant.</summary>
    public static double spearman(double[] a, double[] b, bool absolute = false)
    {
        same_length(a, b, "spearman");
        if (absolute) { a = a.Select(Math.Abs).ToArray(); b = b.Select(Math.Abs).ToArray(); }
        return pearson(ranks(a), ranks(b));
    }

    /// <summary>Pearson correlation; NaN when either input is constant.</summary>
    public static double pearson(double[] a, double[] b)
    {
        same_length(a, b, "pearson");
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb); }
        return saa == 0 || sbb == 0 ? double.NaN : sab / Math.Sqrt(saa * sbb);
    }

    /// <summary>1-based ranks with ties averaged.</summary>
    public static double[] ranks(double[] v)
    {
        var order = Enumerable.Range(0, v.Length).OrderBy(i => v[i]).ToArray();
        var r = new double[v.Length];
        for (int i = 0; i < order.Length;) {
            int j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) r[order[k]] = avg;
            i = j + 1;
        }
        return r;
    }

    /// <summary>
    /// Structural similarity (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004) of two H×W maps, with the settings of
    /// scikit-image's <c>structural_similarity</c> defaults as used by Adebayo et al.: 7×7 uniform window, sample
    /// covariances (÷48), K1 = 0.01, K2 = 0.03, the mean of the SSIM image over windows lying fully inside the map.
    /// Each map is min-max scaled to [0, 1] first (data range 1); a constant map becomes all zeros.
    /// </summary>
    public static double ssim(double[] a, double[] b, int height, int width, int window = 7)
    {
        same_length(a, b, "ssim");
        if (a.Length != height * width) throw new ArgumentException($"ssim: {a.Length} values for a {height}×{width} map.");
        if (window < 2 || window > height || window > width) throw new ArgumentException($"ssim: window {window} does not fit a {height}×{width} map.");
        a = scale01(a); b = scale01(b);
        const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        int np = window * window;
        double cov = np / (np - 1.0), total = 0; int count = 0;
        for (int y = 0; y + window <= height; y++)
            for (int x = 0; x + window <= width; x++) {
                double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
                for (int dy = 0; dy < window; dy++)
                    for (int dx = 0; dx < window; dx++) {
                        double u = a[(y + dy) * width + x + dx], v = b[(y + dy) * width + x + dx];
                        sa += u; sb += v; saa += u * u; sbb += v * v; sab += u * v;
                    }
                double ma = sa / np, mb = sb / np;
                double va = cov * (saa / np - ma * ma), vb = cov * (sbb / np - mb * mb), vab = cov * (sab / np - ma * mb);
                total += (2 * ma * mb + c1) * (2 * vab + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                count++;
            }
        return total / count;
    }

    internal static double[] scale01(double[] v)
    {
        double min = v.Min(), max = v.Max();
        return max > min ? v.Select(x => (x - min) / (max - min)).ToArray() : new double[v.Length];
    }

    static void same_length(double[] a, double[] b, string what)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{what}: the maps have {a.Length} and {b.Length} values.");
        if (a.Length < 2) throw new ArgumentException($"{what}: at least 2 values are needed, got {a.Length}.");
    }
}
