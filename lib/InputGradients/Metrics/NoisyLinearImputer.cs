using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Metrics;

/// <summary>
/// ROAD's noisy linear imputation (Rong et al. 2022): each removed pixel takes the weighted mean of its 8 neighbours
/// inside the image (weight 1/6 for the 4 direct neighbours, 1/12 for the diagonals), where neighbours that are
/// themselves removed are unknowns too. This is one sparse, symmetric, positive definite system per channel, solved
/// here by conjugate gradients with a Jacobi preconditioner to a relative residual of 1e-12. Gaussian noise of
/// standard deviation <see cref="Noise"/> is then added to the imputed values, so a classifier cannot
/// recognise the smooth fill.
/// </summary>
public sealed class NoisyLinearImputer
{
    public double Noise { get; init; } = 0.01;

    static readonly (int dy, int dx, double w)[] Neighbours = {
        (-1, -1, 1.0 / 12), (-1, 0, 1.0 / 6), (-1, 1, 1.0 / 12), (0, -1, 1.0 / 6),
        (0, 1, 1.0 / 6), (1, -1, 1.0 / 12), (1, 0, 1.0 / 6), (1, 1, 1.0 / 12),
    };

    /// <summary>The image <paramref name="x"/> (C×H×W) with the pixels flagged in <paramref name="removed"/>
    /// (row-major H·W flags) imputed; the others unchanged.</summary>
    public Tensor impute(Tensor x, bool[] removed, torch.Generator? generator = null)
    {
        if (x.dim() != 3) throw new ArgumentException($"impute: expected a C×H×W image, got [{string.Join(",", x.shape)}].");
        int c = (int)x.shape[0], h = (int)x.shape[1], w = (int)x.shape[2];
        if (removed.Length != h * w) throw new ArgumentException($"impute: {removed.Length} flags for a {h}×{w} image.");
        var unknown = Enumerable.Range(0, h * w).Where(p => removed[p]).ToArray();
        if (unknown.Length == h * w) throw new ArgumentException("impute: every pixel is removed; there is nothing to impute from.");
        using var scope = torch.NewDisposeScope();
        var img = x.detach().to_type(ScalarType.Float64).cpu().contiguous();
        var values = img.data<double>().ToArray();
        if (unknown.Length == 0) return x.clone().MoveToOuterDisposeScope();

        var index = new int[h * w]; Array.Fill(index, -1);
        for (int u = 0; u < unknown.Length; u++) index[unknown[u]] = u;
        // Row u: diag[u]·x_u − Σ w·x_j (j unknown) = Σ w·x_j (j known).
        var diag = new double[unknown.Length];
        var cols = new List<(int j, double w)>[unknown.Length];
        var known = new List<(int p, double w)>[unknown.Length];
        for (int u = 0; u < unknown.Length; u++) {
            cols[u] = new(); known[u] = new();
            int y = unknown[u] / w, xx = unknown[u] % w;
            foreach (var (dy, dx, wt) in Neighbours) {
                int ny = y + dy, nx = xx + dx;
                if (ny < 0 || nx < 0 || ny >= h || nx >= w) continue;
                diag[u] += wt;
                int p = ny * w + nx;
                if (index[p] >= 0) cols[u].Add((index[p], wt)); else known[u].Add((p, wt));
            }
        }
        var result = (double[])values.Clone();
        for (int ch = 0; ch < c; ch++) {
            int off = ch * h * w;
            var b = new double[unknown.Length];
            for (int u = 0; u < unknown.Length; u++) foreach (var (p, wt) in known[u]) b[u] += wt * values[off + p];
            var sol = solve(diag, cols, b);
            for (int u = 0; u < unknown.Length; u++) result[off + unknown[u]] = sol[u];
        }
        var filled = torch.tensor(result, dtype: ScalarType.Float64).reshape(c, h, w);
        if (Noise != 0) {
            var mask = torch.tensor(removed).reshape(1, h, w);
            var noise = torch.randn(new long[] { c, h, w }, dtype: ScalarType.Float64, generator: generator).mul_scalar(Noise);
            filled = filled.add_tensor(noise * mask);
        }
        return filled.to_type(x.dtype).to(x.device).MoveToOuterDisposeScope();
    }

    static double[] solve(double[] diag, List<(int j, double w)>[] cols, double[] b)
    {
        int n = b.Length;
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = b[i] / diag[i];
        double[] Apply(double[] v)
        {
            var r = new double[n];
            for (int i = 0; i < n; i++) {
                double s = diag[i] * v[i];
                foreach (var (j, wt) in cols[i]) s -= wt * v[j];
                r[i] = s;
            }
            return r;
        }
        var ax = Apply(x);
        var res = new double[n]; for (int i = 0; i < n; i++) res[i] = b[i] - ax[i];
        var z = new double[n]; for (int i = 0; i < n; i++) z[i] = res[i] / diag[i];
        var p = (double[])z.Clone();
        double rz = Dot(res, z), bnorm = Math.Sqrt(Dot(b, b));
        if (bnorm == 0) bnorm = 1;
        for (int it = 0; it < 20 * n + 100 && Math.Sqrt(Dot(res, res)) > 1e-12 * bnorm; it++) {
            var ap = Apply(p);
            double alpha = rz / Dot(p, ap);
            for (int i = 0; i < n; i++) { x[i] += alpha * p[i]; res[i] -= alpha * ap[i]; }
            for (int i = 0; i < n; i++) z[i] = res[i] / diag[i];
            double rz2 = Dot(res, z);
            double beta = rz2 / rz; rz = rz2;
            for (int i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
        }
        return x;
    }

    static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }
}
