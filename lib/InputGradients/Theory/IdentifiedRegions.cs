
namespace InputGradients.Theory;

public enum Activation { Identity, Abs, Relu }

/// <summary>One layer h ↦ σ(W h + b) with exact rational weights.</summary>
public sealed class PiecewiseLinearLayer
{
    public Rational[,] W { get; }
    public Rational[] B { get; }
    public Activation Activation { get; }
    public int InputDim => W.GetLength(1);
    public int OutputDim => W.GetLength(0);

    public PiecewiseLinearLayer(Rational[,] w, Rational[] b, Activation activation)
    {
        if (b.Length != w.GetLength(0))
            throw new ArgumentException($"Bias has {b.Length} entries but W has {w.GetLength(0)} rows.", nameof(b));
        W = w; B = b; Activation = activation;
    }

    public static Rational Apply(Activation a, Rational z) => a switch
    {
        Activation.Abs => z.Abs(),
        Activation.Relu => z.Sign > 0 ? z : Rational.Zero,
        _ => z,
    };

    public static double Apply(Activation a, double z) => a switch
    {
        Activation.Abs => Math.Abs(z),
        Activation.Relu => Math.Max(z, 0),
        _ => z,
    };
}

/// <summary>
/// A feed-forward network of piecewise-linear layers, evaluated exactly (rationals) or in doubles.
/// Q3's network is L layers of |2I x − 1|.
/// </summary>
public sealed class PiecewiseLinearNetwork
{
    public IReadOnlyList<PiecewiseLinearLayer> Layers { get; }
    public int InputDim => Layers[0].InputDim;
    public int OutputDim => Layers[^1].OutputDim;
    public string Name { get; }

    public PiecewiseLinearNetwork(IReadOnlyList<PiecewiseLinearLayer> layers, string? name = null)
    {
        if (layers.Count == 0) throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        for (int l = 1; l < layers.Count; l++)
            if (layers[l].InputDim != layers[l - 1].OutputDim)
                throw new ArgumentException($"Layer {l} takes {layers[l].InputDim} inputs but layer {l - 1} gives {layers[l - 1].OutputDim}.", nameof(layers));
        Layers = layers;
        Name = name ?? $"{layers.Count}-layer network";
    }

    /// <summary>The question's layer: W = 2I (d×d), b = −1, absolute-value activation.</summary>
    public static PiecewiseLinearLayer QuestionLayer(int d)
    {
        var w = new Rational[d, d];
        var b = new Rational[d];
        for (int i = 0; i < d; i++) { w[i, i] = 2; b[i] = -1; }
        return new PiecewiseLinearLayer(w, b, Activation.Abs);
    }

    /// <summary>L copies of the question's layer, h_l = |W h_{l−1} + b|.</summary>
    public static PiecewiseLinearNetwork Question(int d, int layers) =>
        new(Enumerable.Range(0, layers).Select(_ => QuestionLayer(d)).ToList(), $"|2x-1| x{layers}, d={d}");

    public static PiecewiseLinearNetwork Of(string name, params PiecewiseLinearLayer[] layers) => new(layers, name);

    /// <summary>f ∘ g: first g (this argument order follows the maths), then f.</summary>
    public static PiecewiseLinearNetwork Compose(PiecewiseLinearNetwork f, PiecewiseLinearNetwork g) =>
        new(g.Layers.Concat(f.Layers).ToList(), $"({f.Name}) o ({g.Name})");

    /// <summary>
    /// The same function with ReLU units: each |W h + b| becomes ReLU([W; −W] h + [b; −b]) (twice the units)
    /// followed by the linear map [I I], since |z| = ReLU(z) + ReLU(−z).
    /// </summary>
    public PiecewiseLinearNetwork WithReluUnits()
    {
        var layers = new List<PiecewiseLinearLayer>();
        foreach (var layer in Layers)
        {
            if (layer.Activation != Activation.Abs) { layers.Add(layer); continue; }
            int m = layer.OutputDim, n = layer.InputDim;
            var w2 = new Rational[2 * m, n];
            var b2 = new Rational[2 * m];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++) { w2[i, j] = layer.W[i, j]; w2[m + i, j] = -layer.W[i, j]; }
                b2[i] = layer.B[i]; b2[m + i] = -layer.B[i];
            }
            var sum = new Rational[m, 2 * m];
            for (int i = 0; i < m; i++) { sum[i, i] = 1; sum[i, m + i] = 1; }
            layers.Add(new PiecewiseLinearLayer(w2, b2, Activation.Relu));
            layers.Add(new PiecewiseLinearLayer(sum, new Rational[m], Activation.Identity));
        }
        return new PiecewiseLinearNetwork(layers, $"{Name} with ReLU units");
    }

    public Rational[] Forward(IReadOnlyList<Rational> x)
    {
        var h = x.ToArray();
        foreach (var layer in Layers)
        {
            var z = new Rational[layer.OutputDim];
            for (int i = 0; i < z.Length; i++)
            {
                var s = layer.B[i];
                for (int j = 0; j < h.Length; j++) if (!layer.W[i, j].IsZero) s += layer.W[i, j] * h[j];
                z[i] = PiecewiseLinearLayer.Apply(layer.Activation, s);
            }
            h = z;
        }
        return h;
    }

    public double[] Forward(IReadOnlyList<double> x)
    {
        var h = x.ToArray();
        foreach (var layer in Layers)
        {
            var z = new double[layer.OutputDim];
            for (int i = 0; i < z.Length; i++)
            {
                var s = layer.B[i].ToDouble();
                for (int j = 0; j < h.Length; j++) s += layer.W[i, j].ToDouble() * h[j];
                z[i] = PiecewiseLinearLayer.Apply(layer.Activation, s);
            }
            h = z;
        }
        return h;
    }

    public override string ToString() => Name;
}

/// <summary>
/// A linear region of the input cube: an open polytope on which every unit's pre-activation has a fixed sign, so the
/// network is the affine map x ↦ M x + c there.
/// </summary>
public sealed class LinearRegion
{
    public Polytope Region { get; }
    public Rational[,] M { get; }
    public Rational[] C { get; }
    /// <summary>Sign (+1, −1, or 0 for a unit constant zero on the region) of every unit, layer by layer.</summary>
    public IReadOnlyList<int> Pattern { get; }
    /// <summary>A point strictly inside the region.</summary>
    public Rational[] InteriorPoint { get; }
    /// <summary>Whether the affine map is a bijection of the region onto (0,1)^d (decided exactly; see <see cref="IdentifiedRegions"/>).</summary>
    public bool IdentifiedOntoCube { get; internal set; }

    internal LinearRegion(Polytope region, Rational[,] m, Rational[] c, IReadOnlyList<int> pattern, Rational[] interior)
    {
        Region = region; M = m; C = c; Pattern = pattern; InteriorPoint = interior;
    }

    public Rational[] Map(IReadOnlyList<Rational> x)
    {
        var y = new Rational[M.GetLength(0)];
        for (int i = 0; i < y.Length; i++)
        {
            var s = C[i];
            for (int j = 0; j < x.Count; j++) if (!M[i, j].IsZero) s += M[i, j] * x[j];
            y[i] = s;
        }
        return y;
    }

    public double[] Map(IReadOnlyList<double> x)
    {
        var y = new double[M.GetLength(0)];
        for (int i = 0; i < y.Length; i++)
        {
            var s = C[i].ToDouble();
            for (int j = 0; j < x.Count; j++) s += M[i, j].ToDouble() * x[j];
            y[i] = s;
        }
        return y;
    }

    /// <summary>Solves M x + c = y exactly; null if M is singular or not square.</summary>
    public Rational[]? SolveInverse(IReadOnlyList<Rational> y)
    {
        int n = M.GetLength(0);
        if (M.GetLength(1) != n) return null;
        var rhs = new Rational[n];
        for (int i = 0; i < n; i++) rhs[i] = y[i] - C[i];
        return LinearAlgebra.Solve(M, rhs);
    }

    /// <summary>"+−" style label of the sign pattern, with the minus sign U+2212: as wide as "+", so patterns such as
    /// "++−−" read clearly in tables and charts (a hyphen is short, and typeset text joins "--" into a dash).</summary>
    public string Label => string.Concat(Pattern.Select(s => s > 0 ? '+' : s < 0 ? '−' : '0'));
}

/// <summary>Counts for one network, computed by <see cref="IdentifiedRegions.Analyze"/>.</summary>
public sealed record RegionAnalysis(PiecewiseLinearNetwork Network, IReadOnlyList<LinearRegion> Regions)
{
    public int LinearRegionCount => Regions.Count;
    public int IdentifiedCount => Regions.Count(r => r.IdentifiedOntoCube);
}

/// <summary>
/// Q3: linear regions of a piecewise-linear network on the input cube (0,1)^d, and which of them the network maps
/// bijectively onto (0,1)^d. Everything is computed from the weights, exactly:
/// the cube is split recursively by every unit's hyperplane (pre-activation = 0) in its current affine form,
/// keeping only pieces with nonempty interior (an exact LP), layer by layer. A region R with map F(x) = Mx + c is
/// identified onto (0,1)^d iff det M ≠ 0, F(closure R) ⊆ [0,1]^d (2d exact LPs) and every vertex of [0,1]^d has its
/// preimage in closure R; then F(closure R) = [0,1]^d and, F being an affine bijection, F(R) = (0,1)^d.
/// </summary>
public static class IdentifiedRegions
{
    public static RegionAnalysis Analyze(PiecewiseLinearNetwork network)
    {
        var regions = LinearRegions(network);
        foreach (var r in regions) r.IdentifiedOntoCube = IsIdentifiedOntoCube(r, network.InputDim);
        return new RegionAnalysis(network, regions);
    }

    /// <summary>The linear regions of (0,1)^d with their affine maps (boundaries of measure zero excluded).</summary>
    public static List<LinearRegion> LinearRegions(PiecewiseLinearNetwork network)
    {
        int d = network.InputDim;
        var identity = new Rational[d, d];
        for (int i = 0; i < d; i++) identity[i, i] = 1;
        var cube = Polytope.UnitCube(d);
        var start = cube.InteriorPoint() ?? throw new InvalidOperationException("Internal error: the unit cube has no interior point.");
        var current = new List<LinearRegion> { new(cube, identity, new Rational[d], Array.Empty<int>(), start) };

        foreach (var layer in network.Layers)
        {
            var next = new List<LinearRegion>();
            foreach (var region in current)
            {
                // Pre-activations z = W(Mx + c) + b as affine functions of x.
                var (zm, zc) = Affine(layer.W, layer.B, region.M, region.C);
                var pieces = new List<(Polytope P, int[] Signs, Rational[] Interior)> { (region.Region, Array.Empty<int>(), region.InteriorPoint) };
                if (layer.Activation != Activation.Identity)
                    for (int u = 0; u < layer.OutputDim; u++)
                    {
                        var a = Row(zm, u);
                        var h = new HalfSpace(a, zc[u]);
                        var split = new List<(Polytope, int[], Rational[])>();
                        foreach (var (p, signs, interior) in pieces)
                        {
                            if (a.All(v => v.IsZero))
                            {
                                split.Add((p, signs.Append(zc[u].Sign).ToArray(), interior));
                                continue;
                            }
                            // The known interior point decides one side without an LP; only the other side needs one.
                            var here = h.Value(interior).Sign;
                            var known = here >= 0 ? h : h.Negate();
                            var other = known.Negate();
                            if (here != 0)
                                split.Add((p.With(known), signs.Append(here).ToArray(), interior));
                            else if (p.With(known).InteriorPoint() is { } ik)
                                split.Add((p.With(known), signs.Append(1).ToArray(), ik));
                            var po = p.With(other);
                            if (po.InteriorPoint() is { } io)
                                split.Add((po, signs.Append(here >= 0 ? -1 : 1).ToArray(), io));
                        }
                        pieces = split;
                    }
                foreach (var (p, signs, interior) in pieces)
                {
                    // On this piece each unit is linear: |z| = s·z, ReLU(z) = [s > 0]·z.
                    var m = (Rational[,])zm.Clone();
                    var c = (Rational[])zc.Clone();
                    for (int u = 0; u < layer.OutputDim; u++)
                    {
                        Rational factor = layer.Activation switch
                        {
                            Activation.Abs => signs[u],
                            Activation.Relu => signs[u] > 0 ? 1 : 0,
                            _ => 1,
                        };
                        if (factor == Rational.One) continue;
                        for (int j = 0; j < d; j++) m[u, j] *= factor;
                        c[u] *= factor;
                    }
                    next.Add(new LinearRegion(p, m, c, region.Pattern.Concat(signs).ToArray(), interior));
                }
            }
            current = next;
        }
        return current;
    }

    static (Rational[,] M, Rational[] C) Affine(Rational[,] w, Rational[] b, Rational[,] m, Rational[] c)
    {
        int rows = w.GetLength(0), inner = w.GetLength(1), d = m.GetLength(1);
        var rm = new Rational[rows, d];
        var rc = new Rational[rows];
        for (int i = 0; i < rows; i++)
        {
            var s = b[i];
            for (int k = 0; k < inner; k++)
            {
                if (w[i, k].IsZero) continue;
                s += w[i, k] * c[k];
                for (int j = 0; j < d; j++) if (!m[k, j].IsZero) rm[i, j] += w[i, k] * m[k, j];
            }
            rc[i] = s;
        }
        return (rm, rc);
    }

    static Rational[] Row(Rational[,] m, int r) => Enumerable.Range(0, m.GetLength(1)).Select(j => m[r, j]).ToArray();

    static bool IsIdentifiedOntoCube(LinearRegion r, int d)
    {
        if (r.M.GetLength(0) != d) return false;
        if (LinearAlgebra.Determinant(r.M).IsZero) return false;
        // F(closure R) ⊆ [0,1]^d: 0 ≤ min and max ≤ 1 of each output coordinate.
        for (int i = 0; i < d; i++)
        {
            var g = Row(r.M, i);
            var min = r.Region.MinimumOver(g);
            var max = r.Region.MinimumOver(g.Select(v => -v).ToArray());
            if (min is null || max is null) return false;
            if ((min.Value + r.C[i]).Sign < 0 || (r.C[i] - max.Value) > Rational.One) return false;
        }
        // [0,1]^d ⊆ F(closure R): each cube vertex has its preimage in closure R.
        for (int v = 0; v < 1 << d; v++)
        {
            var y = Enumerable.Range(0, d).Select(i => (Rational)((v >> i) & 1)).ToArray();
            var x = r.SolveInverse(y);
            if (x is null || !r.Region.ContainsClosed(x)) return false;
        }
        return true;
    }

    /// <summary>For d = 1: the network's graph on [0,1] as exact breakpoints (x, f(x)), including both ends.</summary>
    public static IReadOnlyList<(Rational X, Rational Y)> Graph1D(PiecewiseLinearNetwork network)
    {
        if (network.InputDim != 1 || network.OutputDim != 1)
            throw new ArgumentException($"Graph1D needs a network from R to R, this one maps R^{network.InputDim} to R^{network.OutputDim}.", nameof(network));
        var xs = new SortedSet<Rational> { Rational.Zero, Rational.One };
        foreach (var r in LinearRegions(network))
            foreach (var h in r.Region.Constraints)
                xs.Add(-h.Beta / h.A[0]);  // the boundary point of a 1-D constraint
        return xs.Where(x => x >= Rational.Zero && x <= Rational.One)
            .Select(x => (x, network.Forward(new[] { x })[0])).ToList();
    }
}

/// <summary>Exact Gaussian elimination for the small square systems of Q3.</summary>
public static class LinearAlgebra
{
    public static Rational Determinant(Rational[,] m)
    {
        int n = m.GetLength(0);
        if (m.GetLength(1) != n) throw new ArgumentException($"Determinant of a non-square {n}x{m.GetLength(1)} matrix.", nameof(m));
        var a = (Rational[,])m.Clone();
        Rational det = 1;
        for (int col = 0; col < n; col++)
        {
            int piv = -1;
            for (int r = col; r < n; r++) if (!a[r, col].IsZero) { piv = r; break; }
            if (piv < 0) return Rational.Zero;
            if (piv != col) { SwapRows(a, piv, col); det = -det; }
            det *= a[col, col];
            for (int r = col + 1; r < n; r++)
            {
                if (a[r, col].IsZero) continue;
                var f = a[r, col] / a[col, col];
                for (int j = col; j < n; j++) a[r, j] -= f * a[col, j];
            }
        }
        return det;
    }

    /// <summary>Solves M x = y; null if M is singular.</summary>
    public static Rational[]? Solve(Rational[,] m, IReadOnlyList<Rational> y)
    {
        int n = m.GetLength(0);
        var a = new Rational[n, n + 1];
        for (int i = 0; i < n; i++) { for (int j = 0; j < n; j++) a[i, j] = m[i, j]; a[i, n] = y[i]; }
        for (int col = 0; col < n; col++)
        {
            int piv = -1;
            for (int r = col; r < n; r++) if (!a[r, col].IsZero) { piv = r; break; }
            if (piv < 0) return null;
            SwapRows(a, piv, col);
            var inv = Rational.One / a[col, col];
            for (int j = col; j <= n; j++) a[col, j] *= inv;
            for (int r = 0; r < n; r++)
            {
                if (r == col || a[r, col].IsZero) continue;
                var f = a[r, col];
                for (int j = col; j <= n; j++) a[r, j] -= f * a[col, j];
            }
        }
        return Enumerable.Range(0, n).Select(i => a[i, n]).ToArray();
    }

    static void SwapRows(Rational[,] a, int i, int j)
    {
        if (i == j) return;
        for (int c = 0; c < a.GetLength(1); c++) (a[i, c], a[j, c]) = (a[j, c], a[i, c]);
    }
}
