using System.Numerics;
using System.Text;
using InputGradients.Display;

namespace InputGradients.Theory;

/// <summary>
/// A Boolean function of <see cref="Arity"/> inputs given by its truth table. Row k of the table is the point
/// whose bits, read with x₁ as the most significant, spell k: for two inputs the rows are 00, 01, 10, 11,
/// the order of the problem set's tables.
/// </summary>
public sealed class BooleanFunction : IHasLatex
{
    public int Arity { get; }
    public string Name { get; }
    readonly bool[] _table;

    public BooleanFunction(int arity, IReadOnlyList<bool> table, string? name = null)
    {
        if (arity < 0 || arity > 16) throw new ArgumentOutOfRangeException(nameof(arity), arity, "Arity must be between 0 and 16.");
        if (table.Count != 1 << arity)
            throw new ArgumentException($"A function of {arity} inputs needs a truth table of {1 << arity} rows, got {table.Count}.", nameof(table));
        Arity = arity;
        _table = table.ToArray();
        Name = name ?? $"f[{string.Concat(_table.Select(v => v ? '1' : '0'))}]";
    }

    /// <summary>From the output column of the truth table, e.g. <c>FromOutputs(2, 0, 0, 0, 1)</c> is AND.</summary>
    public static BooleanFunction FromOutputs(int arity, params int[] outputs) => FromOutputs(arity, null, outputs);

    public static BooleanFunction FromOutputs(int arity, string? name, params int[] outputs)
    {
        foreach (var o in outputs)
            if (o is not (0 or 1)) throw new ArgumentException($"Truth-table outputs must be 0 or 1, got {o}.", nameof(outputs));
        return new BooleanFunction(arity, outputs.Select(o => o == 1).ToArray(), name);
    }

    /// <summary>The function whose output on row k is bit k of <paramref name="index"/> (all 2^(2^n) functions as index runs).</summary>
    public static BooleanFunction FromIndex(int arity, ulong index)
    {
        if (arity > 6) throw new ArgumentOutOfRangeException(nameof(arity), arity, "FromIndex covers at most 6 inputs (64 rows).");
        var rows = 1 << arity;
        var t = new bool[rows];
        for (int k = 0; k < rows; k++) t[k] = ((index >> k) & 1UL) != 0;
        return new BooleanFunction(arity, t);
    }

    public static BooleanFunction And => FromOutputs(2, "AND", 0, 0, 0, 1);
    public static BooleanFunction Or => FromOutputs(2, "OR", 0, 1, 1, 1);
    public static BooleanFunction Xnor => FromOutputs(2, "XNOR (iff)", 1, 0, 0, 1);
    public static BooleanFunction Xor => FromOutputs(2, "XOR", 0, 1, 1, 0);

    public int Rows => _table.Length;
    public bool this[int row] => _table[row];

    /// <summary>The input point of row k, as 0/1 values x₁ … xₙ.</summary>
    public int[] Point(int row)
    {
        var x = new int[Arity];
        for (int i = 0; i < Arity; i++) x[i] = (row >> (Arity - 1 - i)) & 1;
        return x;
    }

    public IEnumerable<int> TrueRows => Enumerable.Range(0, Rows).Where(k => _table[k]);
    public IEnumerable<int> FalseRows => Enumerable.Range(0, Rows).Where(k => !_table[k]);

    public string ToLatex()
    {
        var sb = new StringBuilder();
        sb.Append("\\begin{array}{").Append(new string('c', Arity)).Append("|c} ");
        sb.Append(string.Join(" & ", Enumerable.Range(1, Arity).Select(i => $"x_{{{i}}}"))).Append(" & f \\\\ \\hline ");
        for (int k = 0; k < Rows; k++)
            sb.Append(string.Join(" & ", Point(k))).Append(" & ").Append(_table[k] ? 1 : 0).Append(" \\\\ ");
        sb.Append("\\end{array}");
        return sb.ToString();
    }

    public override string ToString() => Name;
}

/// <summary>A linear threshold unit f(x) = [w·x + b ≥ 0] with integer weights and bias.</summary>
public sealed record ThresholdUnit(BigInteger[] Weights, BigInteger Bias) : IHasLatex
{
    public static ThresholdUnit Of(int bias, params int[] weights) => new(weights.Select(w => new BigInteger(w)).ToArray(), bias);

    public BigInteger PreActivation(IReadOnlyList<int> x)
    {
        if (x.Count != Weights.Length) throw new ArgumentException($"Input has {x.Count} entries but the unit has {Weights.Length} weights.", nameof(x));
        var s = Bias;
        for (int i = 0; i < x.Count; i++) s += Weights[i] * x[i];
        return s;
    }

    public int Evaluate(IReadOnlyList<int> x) => PreActivation(x).Sign >= 0 ? 1 : 0;

    /// <summary>Exact check of every row of the truth table.</summary>
    public bool Realises(BooleanFunction f) =>
        f.Arity == Weights.Length && Enumerable.Range(0, f.Rows).All(k => (Evaluate(f.Point(k)) == 1) == f[k]);

    /// <summary>The truth table of the unit itself, with its pre-activation, for display.</summary>
    public IReadOnlyList<(int[] X, BigInteger PreActivation, int Output)> Table(int arity) =>
        Enumerable.Range(0, 1 << arity).Select(k =>
        {
            var x = new int[arity];
            for (int i = 0; i < arity; i++) x[i] = (k >> (arity - 1 - i)) & 1;
            var z = PreActivation(x);
            return (x, z, z.Sign >= 0 ? 1 : 0);
        }).ToList();

    public string ToLatex() =>
        $"\\mathbf{{w}} = \\begin{{bmatrix}} {string.Join(" & ", Weights)} \\end{{bmatrix}}^\\top,\\quad b = {Bias}";

    public override string ToString() => $"w = ({string.Join(", ", Weights)}), b = {Bias}";

    /// <summary>The boundary as text, e.g. <c>x₁ + x₂ − 2 = 0</c>.</summary>
    public string BoundaryText()
    {
        static string Sub(int i) => string.Concat((i + 1).ToString().Select(c => (char)('₀' + (c - '0'))));
        var terms = new List<string>();
        for (int i = 0; i < Weights.Length; i++)
        {
            var w = Weights[i];
            if (w.IsZero) continue;
            var mag = BigInteger.Abs(w);
            var body = (mag.IsOne ? "" : mag.ToString()) + "x" + Sub(i);
            terms.Add(terms.Count == 0 ? (w.Sign < 0 ? "−" + body : body) : (w.Sign < 0 ? "− " : "+ ") + body);
        }
        if (!Bias.IsZero || terms.Count == 0)
            terms.Add(terms.Count == 0 ? Bias.ToString() : (Bias.Sign < 0 ? "− " : "+ ") + BigInteger.Abs(Bias));
        return string.Join(" ", terms) + " = 0";
    }
}

/// <summary>
/// Proof that a Boolean function is not linearly separable: nonnegative multipliers λ on the true points and μ on
/// the false points with Σλ = Σμ = 1 and Σ λₜ t = Σ μ_f f. The common point p lies in both convex hulls, so for
/// any w, b: w·p + b is an average of values ≥ 0 (true points) and also of values &lt; 0 (false points), a contradiction.
/// </summary>
public sealed record SeparationCertificate(int Arity, IReadOnlyDictionary<int, Rational> TrueMultipliers, IReadOnlyDictionary<int, Rational> FalseMultipliers) : IHasLatex
{
    /// <summary>The point p = Σ λₜ t = Σ μ_f f (computed from the true side).</summary>
    public Rational[] CommonPoint(BooleanFunction f) => Combine(f, TrueMultipliers);

    static Rational[] Combine(BooleanFunction f, IReadOnlyDictionary<int, Rational> multipliers)
    {
        var p = new Rational[f.Arity];
        foreach (var (row, l) in multipliers)
        {
            var x = f.Point(row);
            for (int i = 0; i < f.Arity; i++) p[i] += l * x[i];
        }
        return p;
    }

    /// <summary>Exact verification with BigInteger rationals; does not trust how the certificate was found.</summary>
    public bool Verify(BooleanFunction f)
    {
        if (f.Arity != Arity || TrueMultipliers.Count == 0 || FalseMultipliers.Count == 0) return false;
        foreach (var (row, l) in TrueMultipliers)
            if (row < 0 || row >= f.Rows || !f[row] || l.Sign < 0) return false;
        foreach (var (row, m) in FalseMultipliers)
            if (row < 0 || row >= f.Rows || f[row] || m.Sign < 0) return false;
        var one = Rational.One;
        if (TrueMultipliers.Values.Aggregate(Rational.Zero, (s, v) => s + v) != one) return false;
        if (FalseMultipliers.Values.Aggregate(Rational.Zero, (s, v) => s + v) != one) return false;
        var p = Combine(f, TrueMultipliers);
        var q = Combine(f, FalseMultipliers);
        return p.SequenceEqual(q);
    }

    static int[] PointOf(int row, int arity) => Enumerable.Range(0, arity).Select(i => (row >> (arity - 1 - i)) & 1).ToArray();

    /// <summary>λ-combination of true points = μ-combination of false points = the common point, e.g.
    /// ½(0,0) + ½(1,1) = ½(0,1) + ½(1,0) = (½, ½).</summary>
    public string ToLatex()
    {
        string Side(IReadOnlyDictionary<int, Rational> ms) =>
            string.Join(" + ", ms.OrderBy(kv => kv.Key).Select(kv =>
                (kv.Value == Rational.One ? "" : kv.Value.ToLatex()) + "(" + string.Join(",", PointOf(kv.Key, Arity)) + ")"));
        var p = new Rational[Arity];
        foreach (var (row, l) in TrueMultipliers)
        {
            var x = PointOf(row, Arity);
            for (int i = 0; i < Arity; i++) p[i] += l * x[i];
        }
        return $"\\underbrace{{{Side(TrueMultipliers)}}}_{{\\text{{true points}}}} \\;=\\; \\underbrace{{{Side(FalseMultipliers)}}}_{{\\text{{false points}}}} \\;=\\; ({string.Join(", ", p.Select(v => v.ToLatex()))})";
    }

    public override string ToString()
    {
        string Side(IReadOnlyDictionary<int, Rational> ms) =>
            string.Join(" + ", ms.OrderBy(kv => kv.Key).Select(kv => $"{kv.Value}*({string.Join(",", PointOf(kv.Key, Arity))})"));
        return $"{Side(TrueMultipliers)} = {Side(FalseMultipliers)}";
    }
}

/// <summary>Either a threshold unit realising the function or a certificate that none exists.</summary>
public sealed record SeparabilityResult(BooleanFunction Function, ThresholdUnit? Unit, SeparationCertificate? Certificate)
{
    public bool IsSeparable => Unit is not null;
}

/// <summary>
/// Q2: linear threshold units and an exact decision procedure for linear separability.
/// </summary>
public static class ThresholdLogic
{
    /// <summary>Hand-chosen units for the question: x₁ + x₂ - 2 ≥ 0 only at (1,1); x₁ + x₂ - 1 ≥ 0 unless both are 0.</summary>
    public static ThresholdUnit AndUnit => ThresholdUnit.Of(-2, 1, 1);
    public static ThresholdUnit OrUnit => ThresholdUnit.Of(-1, 1, 1);

    /// <summary>
    /// Decides whether f is a linear threshold function, exactly. Solves, by the exact simplex method,
    /// the feasibility problem for the certificate (λ, μ ≥ 0, Σλ = 1, Σμ = 1, Σλₜ t − Σμ_f f = 0).
    /// If it is feasible, the solution is the certificate. If not, the Farkas ray (π₀, π₁, v) gives
    /// w = −v, b = −π₀ with w·t + b ≥ 0 on true points and w·f + b ≤ −(π₀ + π₁) &lt; 0 on false points;
    /// these are scaled to coprime integers. Either answer is verified exactly before it is returned.
    /// </summary>
    /// <param name="pairShortcut">First look for the commonest certificate, two true points with the same sum as
    /// two false points (t₁ + t₂ = f₁ + f₂, e.g. XNOR's diagonals); it is exact and checked like any other, and
    /// spares most LPs when enumerating. False forces the LP for every function.</param>
    public static SeparabilityResult Decide(BooleanFunction f, bool pairShortcut = true)
    {
        int n = f.Arity;
        var trues = f.TrueRows.ToArray();
        var falses = f.FalseRows.ToArray();
        // Constant functions: no certificate can exist (one side is empty); the unit is immediate.
        if (falses.Length == 0) return Checked(f, new ThresholdUnit(new BigInteger[n], 0), null);
        if (trues.Length == 0) return Checked(f, new ThresholdUnit(new BigInteger[n], -1), null);
        if (pairShortcut && n <= 10 && PairCertificate(f, trues, falses) is { } pair) return Checked(f, null, pair);

        int cols = trues.Length + falses.Length, rows = n + 2;
        var a = new Rational[rows, cols];
        var rhs = new Rational[rows];
        rhs[0] = 1;
        rhs[1] = 1;
        for (int c = 0; c < cols; c++)
        {
            bool isTrue = c < trues.Length;
            var x = f.Point(isTrue ? trues[c] : falses[c - trues.Length]);
            a[isTrue ? 0 : 1, c] = 1;
            for (int i = 0; i < n; i++) a[2 + i, c] = isTrue ? x[i] : -x[i];
        }
        var lp = ExactSimplex.Feasible(a, rhs);
        if (lp.Status == LpStatus.Optimal)
        {
            var lambda = new Dictionary<int, Rational>();
            var mu = new Dictionary<int, Rational>();
            for (int c = 0; c < cols; c++)
            {
                if (lp.X![c].IsZero) continue;
                if (c < trues.Length) lambda[trues[c]] = lp.X[c];
                else mu[falses[c - trues.Length]] = lp.X[c];
            }
            return Checked(f, null, new SeparationCertificate(n, lambda, mu));
        }

        var y = lp.FarkasRay!;
        var wb = new Rational[n + 1];
        for (int i = 0; i < n; i++) wb[i] = -y[2 + i];
        wb[n] = -y[0];
        var scale = Rational.CommonDenominator(wb);
        var ints = wb.Select(v => v.Numerator * (scale / v.Denominator)).ToArray();
        var g = ints.Aggregate(BigInteger.Zero, BigInteger.GreatestCommonDivisor);
        if (g > 1) ints = ints.Select(v => v / g).ToArray();
        return Checked(f, new ThresholdUnit(ints[..n], ints[n]), null);
    }

    /// <summary>t₁ + t₂ = f₁ + f₂ (points may repeat), as a certificate with multipliers ½; null if there is none.</summary>
    static SeparationCertificate? PairCertificate(BooleanFunction f, int[] trues, int[] falses)
    {
        int n = f.Arity;
        int codes = 1;
        for (int i = 0; i < n; i++) codes *= 3;
        // Sums of two 0/1 points have entries 0..2: encode in base 3. Rows are bit patterns, so the sum of two rows'
        // base-3 codes is the code of their sum.
        var first = new int[codes];
        var second = new int[codes];
        Array.Fill(first, -1);
        int Code(int row)
        {
            int c = 0;
            for (int i = 0; i < n; i++) c = c * 3 + ((row >> (n - 1 - i)) & 1);
            return c;
        }
        var tc = trues.Select(Code).ToArray();
        for (int i = 0; i < trues.Length; i++)
            for (int j = i; j < trues.Length; j++)
            {
                var s = tc[i] + tc[j];
                if (first[s] < 0) { first[s] = trues[i]; second[s] = trues[j]; }
            }
        var fc = falses.Select(Code).ToArray();
        for (int i = 0; i < falses.Length; i++)
            for (int j = i; j < falses.Length; j++)
            {
                var s = fc[i] + fc[j];
                if (first[s] < 0) continue;
                var half = new Rational(1, 2);
                var lambda = new Dictionary<int, Rational>();
                var mu = new Dictionary<int, Rational>();
                lambda[first[s]] = half;
                lambda[second[s]] = lambda.TryGetValue(second[s], out var l) && first[s] == second[s] ? l + half : half;
                mu[falses[i]] = half;
                mu[falses[j]] = i == j ? Rational.One : half;
                return new SeparationCertificate(n, lambda, mu);
            }
        return null;
    }

    static SeparabilityResult Checked(BooleanFunction f, ThresholdUnit? unit, SeparationCertificate? cert)
    {
        if (unit is not null && !unit.Realises(f))
            throw new InvalidOperationException($"Internal error: the unit {unit} found for {f} does not realise it.");
        if (cert is not null && !cert.Verify(f))
            throw new InvalidOperationException($"Internal error: the certificate found for {f} does not verify.");
        return new SeparabilityResult(f, unit, cert);
    }

    /// <summary>Decides every one of the 2^(2^n) functions of n inputs and counts the separable ones (n ≤ 4).</summary>
    public static SeparabilityCount CountSeparable(int arity)
    {
        if (arity < 0 || arity > 4) throw new ArgumentOutOfRangeException(nameof(arity), arity, "Enumeration covers 0 to 4 inputs (2^(2^5) functions would be too many).");
        ulong total = 1UL << (1 << arity);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        long separable = 0;
        // Each function is independent; the count does not depend on the order of the workers.
        Parallel.For(0L, (long)total, () => 0L, (i, _, local) =>
            Decide(BooleanFunction.FromIndex(arity, (ulong)i)).IsSeparable ? local + 1 : local,
            local => Interlocked.Add(ref separable, local));
        return new SeparabilityCount(arity, (long)total, separable, sw.Elapsed);
    }
}

public sealed record SeparabilityCount(int Arity, long Functions, long Separable, TimeSpan Elapsed);
