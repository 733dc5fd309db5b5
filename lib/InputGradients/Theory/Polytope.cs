namespace InputGradients.Theory;

/// <summary>One strict linear inequality a·x + β &gt; 0.</summary>
public sealed record HalfSpace(Rational[] A, Rational Beta)
{
    public Rational Value(IReadOnlyList<Rational> x)
    {
        var s = Beta;
        for (int i = 0; i < A.Length; i++) if (!A[i].IsZero) s += A[i] * x[i];
        return s;
    }

    public double Value(IReadOnlyList<double> x)
    {
        var s = Beta.ToDouble();
        for (int i = 0; i < A.Length; i++) s += A[i].ToDouble() * x[i];
        return s;
    }

    public HalfSpace Negate() => new(A.Select(v => -v).ToArray(), -Beta);
}

/// <summary>
/// An open convex polytope {x : aₖ·x + βₖ &gt; 0 for all k} inside the unit cube (the cube's own 2d inequalities are
/// always among its constraints, so x ≥ 0 holds and every LP over it is bounded). Exact rational arithmetic.
/// </summary>
public sealed class Polytope
{
    public int Dimension { get; }
    public IReadOnlyList<HalfSpace> Constraints { get; }

    public Polytope(int dimension, IReadOnlyList<HalfSpace> constraints)
    {
        Dimension = dimension;
        Constraints = constraints;
    }

    /// <summary>The open cube (0,1)^d: xᵢ &gt; 0 and 1 − xᵢ &gt; 0.</summary>
    public static Polytope UnitCube(int d)
    {
        if (d < 1) throw new ArgumentOutOfRangeException(nameof(d), d, "Dimension must be at least 1.");
        var cs = new List<HalfSpace>();
        for (int i = 0; i < d; i++)
        {
            var e = new Rational[d]; e[i] = 1;
            cs.Add(new HalfSpace(e, 0));
            var m = new Rational[d]; m[i] = -1;
            cs.Add(new HalfSpace(m, 1));
        }
        return new Polytope(d, cs);
    }

    public Polytope With(HalfSpace h) => new(Dimension, Constraints.Append(h).ToList());

    public bool ContainsStrict(IReadOnlyList<Rational> x) => Constraints.All(h => h.Value(x).Sign > 0);
    public bool ContainsClosed(IReadOnlyList<Rational> x) => Constraints.All(h => h.Value(x).Sign >= 0);
    public bool ContainsStrict(IReadOnlyList<double> x) => Constraints.All(h => h.Value(x) > 0);

    /// <summary>
    /// A point strictly inside, or null if the polytope is empty (has no interior). Solves
    /// max t subject to aₖ·x + βₖ ≥ t, 0 ≤ t ≤ 1, x ≥ 0, exactly; the interior is nonempty iff t* &gt; 0.
    /// </summary>
    public Rational[]? InteriorPoint()
    {
        int d = Dimension, k = Constraints.Count;
        // Variables: x (d), t, s (k slacks), u (slack of t ≤ 1).
        int n = d + 1 + k + 1;
        var a = new Rational[k + 1, n];
        var b = new Rational[k + 1];
        for (int r = 0; r < k; r++)
        {
            var h = Constraints[r];
            for (int i = 0; i < d; i++) a[r, i] = h.A[i];
            a[r, d] = -1;
            a[r, d + 1 + r] = -1;
            b[r] = -h.Beta;
        }
        a[k, d] = 1;
        a[k, n - 1] = 1;
        b[k] = 1;
        var c = new Rational[n];
        c[d] = -1;
        var lp = ExactSimplex.Minimize(a, b, c);
        if (lp.Status != LpStatus.Optimal || lp.X![d].Sign <= 0) return null;
        return lp.X[..d];
    }

    /// <summary>min of g·x over the closure (bounded because the polytope lies in the cube); null if empty.</summary>
    public Rational? MinimumOver(IReadOnlyList<Rational> g)
    {
        int d = Dimension, k = Constraints.Count;
        int n = d + k;
        var a = new Rational[k, n];
        var b = new Rational[k];
        for (int r = 0; r < k; r++)
        {
            var h = Constraints[r];
            for (int i = 0; i < d; i++) a[r, i] = h.A[i];
            a[r, d + r] = -1;
            b[r] = -h.Beta;
        }
        var c = new Rational[n];
        for (int i = 0; i < d; i++) c[i] = g[i];
        var lp = ExactSimplex.Minimize(a, b, c);
        return lp.Status == LpStatus.Optimal ? lp.Objective : null;
    }

    /// <summary>
    /// For d = 2: the vertices of the closure in counter-clockwise order (for drawing). Every pair of constraint
    /// lines is intersected and the intersections inside the closure are kept.
    /// </summary>
    public IReadOnlyList<(double X, double Y)> Polygon()
    {
        if (Dimension != 2) throw new InvalidOperationException($"Polygon() needs a 2-D polytope, this one has dimension {Dimension}.");
        var pts = new List<Rational[]>();
        for (int i = 0; i < Constraints.Count; i++)
        for (int j = i + 1; j < Constraints.Count; j++)
        {
            var (p, q) = (Constraints[i], Constraints[j]);
            var det = p.A[0] * q.A[1] - p.A[1] * q.A[0];
            if (det.IsZero) continue;
            // Solve p.A·x = −p.β, q.A·x = −q.β by Cramer's rule.
            var x = (-p.Beta * q.A[1] + q.Beta * p.A[1]) / det;
            var y = (-q.Beta * p.A[0] + p.Beta * q.A[0]) / det;
            var v = new[] { x, y };
            if (ContainsClosed(v) && !pts.Any(o => o[0] == x && o[1] == y)) pts.Add(v);
        }
        var cx = pts.Average(v => v[0].ToDouble());
        var cy = pts.Average(v => v[1].ToDouble());
        return pts.Select(v => (X: v[0].ToDouble(), Y: v[1].ToDouble()))
            .OrderBy(v => Math.Atan2(v.Y - cy, v.X - cx)).ToList();
    }
}
