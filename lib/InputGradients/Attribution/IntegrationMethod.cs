namespace InputGradients.Attribution;

/// <summary>Quadrature rules for path integrals over α ∈ [0, 1] (names as in Captum's approximation methods).</summary>
public enum IntegrationMethod
{
    RiemannLeft,
    RiemannRight,
    RiemannMiddle,
    /// <summary>α = linspace(0, 1, n); weights 1/(n-1), halved at both ends.</summary>
    RiemannTrapezoid,
    /// <summary>n-point Gauss-Legendre nodes and weights mapped to [0, 1] (Captum's default).</summary>
    GaussLegendre,
}

/// <summary>Nodes α_k and weights w_k with Σ w_k f(α_k) ≈ ∫₀¹ f(α) dα.</summary>
public static class Quadrature
{
    public static (double[] alphas, double[] weights) rule(IntegrationMethod method, int n)
    {
        if (n < 1 || (method == IntegrationMethod.RiemannTrapezoid && n < 2))
            throw new ArgumentOutOfRangeException(nameof(n), $"{method} needs at least {(method == IntegrationMethod.RiemannTrapezoid ? 2 : 1)} steps, got {n}.");
        var a = new double[n];
        var w = new double[n];
        switch (method) {
            case IntegrationMethod.RiemannLeft:
                for (int k = 0; k < n; k++) { a[k] = (double)k / n; w[k] = 1.0 / n; }
                break;
            case IntegrationMethod.RiemannRight:
                for (int k = 0; k < n; k++) { a[k] = (k + 1.0) / n; w[k] = 1.0 / n; }
                break;
            case IntegrationMethod.RiemannMiddle:
                for (int k = 0; k < n; k++) { a[k] = (k + 0.5) / n; w[k] = 1.0 / n; }
                break;
            case IntegrationMethod.RiemannTrapezoid:
                for (int k = 0; k < n; k++) { a[k] = (double)k / (n - 1); w[k] = 1.0 / (n - 1); }
                w[0] /= 2; w[n - 1] /= 2;
                break;
            case IntegrationMethod.GaussLegendre:
                var (x, wx) = gauss_legendre(n);
                for (int k = 0; k < n; k++) { a[k] = 0.5 * (x[k] + 1); w[k] = 0.5 * wx[k]; }
                break;
        }
        return (a, w);
    }

    /// <summary>Gauss-Legendre nodes (ascending) and weights on [-1, 1], by Newton's method on P_n.</summary>
    public static (double[] x, double[] w) gauss_legendre(int n)
    {
        var x = new double[n];
        var w = new double[n];
        for (int i = 0; i < n; i++) {
            double z = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5)), dp = 0;
            for (int iter = 0; iter < 100; iter++) {
                double p0 = 1, p1 = z;
                for (int k = 2; k <= n; k++) { var p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k; p0 = p1; p1 = p2; }
                if (n == 1) { p1 = z; p0 = 1; }
                dp = n * (z * p1 - p0) / (z * z - 1);
                var dz = p1 / dp;
                z -= dz;
                if (Math.Abs(dz) < 1e-15) break;
            }
            x[n - 1 - i] = z;
            w[n - 1 - i] = 2 / ((1 - z * z) * dp * dp);
        }
        return (x, w);
    }
}
