namespace InputGradients.Theory;

public enum LpStatus { Optimal, Infeasible, Unbounded }

/// <summary>Result of <see cref="ExactSimplex.Minimize"/>.</summary>
/// <param name="X">An optimal (or, for a feasibility problem, feasible) vertex; null unless <see cref="LpStatus.Optimal"/>.</param>
/// <param name="Objective">c·x at <paramref name="X"/>.</param>
/// <param name="FarkasRay">When infeasible: y with yᵀA ≤ 0 componentwise and yᵀb &gt; 0, which proves that
/// no x ≥ 0 solves Ax = b (yᵀAx ≤ 0 &lt; yᵀb for every such x).</param>
public sealed record LpResult(LpStatus Status, Rational[]? X, Rational Objective, Rational[]? FarkasRay);

/// <summary>
/// A small exact two-phase simplex method on rationals for problems in standard form
/// minimise cᵀx subject to Ax = b, x ≥ 0.
/// Bland's rule (smallest index enters, smallest basic index leaves on ties) rules out cycling,
/// and makes the answer deterministic. Meant for the tiny LPs of the theory questions, not for speed.
/// </summary>
public static class ExactSimplex
{
    /// <summary>Finds x ≥ 0 with Ax = b, or a Farkas ray proving there is none.</summary>
    public static LpResult Feasible(Rational[,] a, Rational[] b) => Minimize(a, b, null);

    public static LpResult Minimize(Rational[,] a, Rational[] b, Rational[]? c)
    {
        int m = a.GetLength(0), n = a.GetLength(1);
        if (b.Length != m) throw new ArgumentException($"b has {b.Length} entries but A has {m} rows.", nameof(b));
        if (c is not null && c.Length != n) throw new ArgumentException($"c has {c.Length} entries but A has {n} columns.", nameof(c));

        int width = n + m + 1, rhs = n + m;
        var t = new Rational[m][];
        var sign = new int[m];
        var basis = new int[m];
        for (int i = 0; i < m; i++)
        {
            sign[i] = b[i].Sign < 0 ? -1 : 1;
            var row = t[i] = new Rational[width];
            for (int j = 0; j < n; j++) row[j] = sign[i] < 0 ? -a[i, j] : a[i, j];
            row[n + i] = Rational.One;
            row[rhs] = sign[i] < 0 ? -b[i] : b[i];
            basis[i] = n + i;
        }

        // Phase 1: minimise the sum of the artificial variables.
        var r = new Rational[width];
        for (int j = 0; j < n; j++)
        {
            var s = Rational.Zero;
            for (int i = 0; i < m; i++) s -= t[i][j];
            r[j] = s;
        }
        {
            var s = Rational.Zero;
            for (int i = 0; i < m; i++) s -= t[i][rhs];
            r[rhs] = s;
        }
        Run(t, r, basis, enterLimit: n + m, rhs);

        var phase1 = -r[rhs];
        if (phase1.Sign > 0)
        {
            // Dual multipliers π_i = 1 - (reduced cost of artificial i); undo the row sign flips.
            var y = new Rational[m];
            for (int i = 0; i < m; i++) y[i] = sign[i] < 0 ? -(Rational.One - r[n + i]) : Rational.One - r[n + i];
            return new LpResult(LpStatus.Infeasible, null, Rational.Zero, y);
        }

        // Drive artificial variables (now at zero) out of the basis where possible; rows where it is not
        // possible are redundant and stay inert.
        for (int i = 0; i < m; i++)
        {
            if (basis[i] < n) continue;
            for (int j = 0; j < n; j++)
                if (!t[i][j].IsZero) { Pivot(t, r, basis, i, j, rhs); break; }
        }

        if (c is not null)
        {
            for (int j = 0; j < width; j++) r[j] = j < n ? c[j] : Rational.Zero;
            for (int i = 0; i < m; i++)
            {
                var cb = basis[i] < n ? c[basis[i]] : Rational.Zero;
                if (cb.IsZero) continue;
                for (int j = 0; j < width; j++)
                    if (!t[i][j].IsZero) r[j] -= cb * t[i][j];
            }
            if (!Run(t, r, basis, enterLimit: n, rhs))
                return new LpResult(LpStatus.Unbounded, null, Rational.Zero, null);
        }

        var x = new Rational[n];
        for (int i = 0; i < m; i++)
            if (basis[i] < n) x[basis[i]] = t[i][rhs];
        var objective = Rational.Zero;
        if (c is not null)
            for (int j = 0; j < n; j++) objective += c[j] * x[j];
        return new LpResult(LpStatus.Optimal, x, objective, null);
    }

    /// <summary>Simplex iterations with Bland's rule. Returns false if the problem is unbounded.</summary>
    static bool Run(Rational[][] t, Rational[] r, int[] basis, int enterLimit, int rhs)
    {
        int m = t.Length;
        while (true)
        {
            int enter = -1;
            for (int j = 0; j < enterLimit; j++)
                if (r[j].Sign < 0) { enter = j; break; }
            if (enter < 0) return true;

            int leave = -1;
            Rational best = default;
            for (int i = 0; i < m; i++)
            {
                if (t[i][enter].Sign <= 0) continue;
                var ratio = t[i][rhs] / t[i][enter];
                if (leave < 0 || ratio < best || (ratio == best && basis[i] < basis[leave]))
                {
                    leave = i;
                    best = ratio;
                }
            }
            if (leave < 0) return false;
            Pivot(t, r, basis, leave, enter, rhs);
        }
    }

    static void Pivot(Rational[][] t, Rational[] r, int[] basis, int row, int col, int rhs)
    {
        var p = t[row];
        var inv = Rational.One / p[col];
        if (inv != Rational.One)
            for (int j = 0; j <= rhs; j++)
                if (!p[j].IsZero) p[j] *= inv;
        for (int i = 0; i < t.Length; i++)
        {
            if (i == row) continue;
            var f = t[i][col];
            if (f.IsZero) continue;
            var ti = t[i];
            for (int j = 0; j <= rhs; j++)
                if (!p[j].IsZero) ti[j] -= f * p[j];
        }
        var fr = r[col];
        if (!fr.IsZero)
            for (int j = 0; j <= rhs; j++)
                if (!p[j].IsZero) r[j] -= fr * p[j];
        basis[row] = col;
    }
}
