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

    /// <summary>
    /// Histogram of oriented gradients (Dalal and Triggs, CVPR 2005) of an H×W map, in the variant of scikit-image's
    /// <c>skimage.feature.hog</c> (the usual reference) except for the block size (Dalal and Triggs' 2×2 by default):
    /// gradients by centred differences [−1, 0, 1] without halving (zero in the first and last row for the vertical,
    /// first and last column for the horizontal gradient); unsigned orientation θ = atan2(g_row, g_col) folded into
    /// [0°, 180°) with rows counting downwards; each pixel votes its magnitude into one of <paramref name="bins"/> equal
    /// bins (hard voting, no interpolation between bins or cells); a cell's histogram is the mean over its
    /// <paramref name="cell"/>×<paramref name="cell"/> pixels (pixels past the last whole cell are dropped); blocks of
    /// <paramref name="block"/>×<paramref name="block"/> cells slide by one cell and are normalised by L2-Hys
    /// (v/√(‖v‖²+ε²), clipped at 0.2, normalised again; ε = 1e-5). The vector lists blocks row by row, then cells in
    /// the block row by row, then bins.
    /// </summary>
    public static double[] hog(double[] map, int height, int width, int cell = 8, int block = 2, int bins = 9)
    {
        if (map.Length != height * width) throw new ArgumentException($"hog: {map.Length} values for a {height}×{width} map.");
        if (cell < 1 || block < 1 || bins < 1) throw new ArgumentOutOfRangeException(nameof(cell), $"hog: cell {cell}, block {block} and bins {bins} must be positive.");
        int cy = height / cell, cx = width / cell;
        if (cy < block || cx < block)
            throw new ArgumentException($"hog: a {height}×{width} map has {cy}×{cx} cells of {cell}×{cell}, fewer than one {block}×{block} block.");
        var hist = new double[cy, cx, bins];
        for (int y = 0; y < cy * cell; y++)
            for (int x = 0; x < cx * cell; x++) {
                double gr = y == 0 || y == height - 1 ? 0 : map[(y + 1) * width + x] - map[(y - 1) * width + x];
                double gc = x == 0 || x == width - 1 ? 0 : map[y * width + x + 1] - map[y * width + x - 1];
                double theta = Math.Atan2(gr, gc);
                if (theta < 0) theta += Math.PI;
                if (theta >= Math.PI) theta -= Math.PI;
                int bin = Math.Min(bins - 1, (int)Math.Floor(theta / (Math.PI / bins)));
                hist[y / cell, x / cell, bin] += Math.Sqrt(gr * gr + gc * gc) / (cell * cell);
            }
        const double eps = 1e-5;
        var result = new List<double>();
        var v = new double[block * block * bins];
        for (int by = 0; by + block <= cy; by++)
            for (int bx = 0; bx + block <= cx; bx++) {
                int k = 0;
                for (int i = 0; i < block; i++) for (int j = 0; j < block; j++) for (int o = 0; o < bins; o++) v[k++] = hist[by + i, bx + j, o];
                double n1 = Math.Sqrt(v.Sum(t => t * t) + eps * eps);
                for (k = 0; k < v.Length; k++) v[k] = Math.Min(v[k] / n1, 0.2);
                double n2 = Math.Sqrt(v.Sum(t => t * t) + eps * eps);
                result.AddRange(v.Select(t => t / n2));
            }
        return result.ToArray();
    }

    /// <summary>The HOG cell size used for an H×W map when none is given: 4 pixels below 64 (7×7 cells on 28×28),
    /// 8 otherwise (Dalal and Triggs' choice; 28×28 cells on 224×224).</summary>
    public static int hog_cell(int height, int width) => Math.Min(height, width) < 64 ? 4 : 8;

    /// <summary>HOG similarity of Adebayo et al. (2018): the Pearson correlation of the <see cref="hog"/> vectors of two
    /// H×W maps, each min-max scaled to [0, 1] first (as <see cref="ssim"/>). <paramref name="cell"/> defaults to
    /// <see cref="hog_cell"/>. NaN when either HOG is constant (e.g. a constant map).</summary>
    public static double hog_similarity(double[] a, double[] b, int height, int width, int? cell = null, int block = 2)
    {
        same_length(a, b, "hog_similarity");
        int c = cell ?? hog_cell(height, width);
        return pearson(hog(scale01(a), height, width, c, block), hog(scale01(b), height, width, c, block));
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
