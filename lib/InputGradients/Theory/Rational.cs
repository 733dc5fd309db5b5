using System.Globalization;
using System.Numerics;

namespace InputGradients.Theory;

/// <summary>
/// An exact rational number p/q with BigInteger parts, always normalised (q &gt; 0, gcd(p, q) = 1),
/// so equality is structural. Used where the theory questions need exact answers (LPs, regions).
/// </summary>
public readonly struct Rational : IEquatable<Rational>, IComparable<Rational>
{
    // Small values (both parts within int range) live in two longs, so sums and products of two of them fit in a
    // long with no overflow check; anything larger falls back to BigInteger parts. The LPs of Q2 and Q3 stay small.
    readonly long _n;
    readonly long _dMinusOne;   // so that default(Rational) is 0/1
    readonly Big? _big;

    sealed class Big(BigInteger n, BigInteger d)
    {
        public readonly BigInteger N = n, D = d;
    }

    public static readonly Rational Zero = default;
    public static readonly Rational One = new(1L, 1L, true);

    Rational(long n, long d, bool _) { _n = n; _dMinusOne = d - 1; _big = null; }
    Rational(Big big) { _n = 0; _dMinusOne = 0; _big = big; }

    public BigInteger Numerator => _big?.N ?? _n;
    public BigInteger Denominator => _big?.D ?? _dMinusOne + 1;

    public Rational(BigInteger integer) : this(integer, BigInteger.One) { }

    public Rational(long numerator, long denominator) : this(new BigInteger(numerator), new BigInteger(denominator)) { }

    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException("Rational with a zero denominator.");
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsOne && !g.IsZero) { numerator /= g; denominator /= g; }
        if (numerator.IsZero) denominator = BigInteger.One;
        if (numerator >= int.MinValue + 1 && numerator <= int.MaxValue && denominator <= int.MaxValue)
        {
            _n = (long)numerator; _dMinusOne = (long)denominator - 1; _big = null;
        }
        else
        {
            _n = 0; _dMinusOne = 0; _big = new Big(numerator, denominator);
        }
    }

    /// <summary>n/d from longs whose magnitudes are below 2^62 (results of small-part arithmetic).</summary>
    static Rational FromLongs(long n, long d)
    {
        if (d < 0) { n = -n; d = -d; }
        if (n == 0) return Zero;
        var g = Gcd((ulong)Math.Abs(n), (ulong)d);
        if (g != 1) { n /= (long)g; d /= (long)g; }
        if (n > int.MinValue && n <= int.MaxValue && d <= int.MaxValue) return new Rational(n, d, true);
        return new Rational(new Big(n, d));
    }

    static ulong Gcd(ulong a, ulong b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    bool IsSmall => _big is null;

    public int Sign => _big?.N.Sign ?? Math.Sign(_n);
    public bool IsZero => _big is null && _n == 0;
    public bool IsInteger => _big is null ? _dMinusOne == 0 : _big.D.IsOne;

    public static implicit operator Rational(int value) => new(value, 1L, true);
    public static implicit operator Rational(long value) => value > int.MinValue && value <= int.MaxValue ? new(value, 1L, true) : new Rational(new BigInteger(value));
    public static implicit operator Rational(BigInteger value) => new(value);
    public static explicit operator double(Rational r) => r.ToDouble();

    public double ToDouble()
    {
        if (IsSmall) return (double)_n / (_dMinusOne + 1);
        var d = (double)_big!.N / (double)_big.D;
        if (double.IsFinite(d) && (d != 0 || _big.N.IsZero)) return d;
        // Parts beyond double's range: divide in the log domain.
        return _big.N.Sign * Math.Exp(BigInteger.Log(BigInteger.Abs(_big.N)) - BigInteger.Log(_big.D));
    }

    public static Rational operator +(Rational a, Rational b)
    {
        if (a.IsSmall && b.IsSmall)
        {
            long ad = a._dMinusOne + 1, bd = b._dMinusOne + 1;
            return ad == 1 && bd == 1 ? FromLongs(a._n + b._n, 1) : FromLongs(a._n * bd + b._n * ad, ad * bd);
        }
        return new Rational(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    }

    public static Rational operator -(Rational a) => a.IsSmall ? new Rational(-a._n, a._dMinusOne + 1, true) : new Rational(-a._big!.N, a._big.D);

    public static Rational operator -(Rational a, Rational b) => a + (-b);

    public static Rational operator *(Rational a, Rational b)
    {
        if (a.IsZero || b.IsZero) return Zero;
        if (a.IsSmall && b.IsSmall) return FromLongs(a._n * b._n, (a._dMinusOne + 1) * (b._dMinusOne + 1));
        return new Rational(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    }

    public static Rational operator /(Rational a, Rational b)
    {
        if (b.IsZero) throw new DivideByZeroException("Division of a Rational by zero.");
        if (a.IsSmall && b.IsSmall) return FromLongs(a._n * (b._dMinusOne + 1), (a._dMinusOne + 1) * b._n);
        return new Rational(a.Numerator * b.Denominator, a.Denominator * b.Numerator);
    }

    public static bool operator ==(Rational a, Rational b) => a.Equals(b);
    public static bool operator !=(Rational a, Rational b) => !a.Equals(b);
    public static bool operator <(Rational a, Rational b) => a.CompareTo(b) < 0;
    public static bool operator >(Rational a, Rational b) => a.CompareTo(b) > 0;
    public static bool operator <=(Rational a, Rational b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Rational a, Rational b) => a.CompareTo(b) >= 0;

    public Rational Abs() => Sign < 0 ? -this : this;

    public bool Equals(Rational other) =>
        IsSmall && other.IsSmall ? _n == other._n && _dMinusOne == other._dMinusOne
        : Numerator == other.Numerator && Denominator == other.Denominator;
    public override bool Equals(object? obj) => obj is Rational r && Equals(r);
    public override int GetHashCode() => HashCode.Combine(Numerator, Denominator);

    public int CompareTo(Rational other) =>
        IsSmall && other.IsSmall ? (_n * (other._dMinusOne + 1)).CompareTo(other._n * (_dMinusOne + 1))
        : (Numerator * other.Denominator).CompareTo(other.Numerator * Denominator);

    public override string ToString() =>
        IsInteger ? Numerator.ToString(CultureInfo.InvariantCulture)
        : $"{Numerator.ToString(CultureInfo.InvariantCulture)}/{Denominator.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>LaTeX form: an integer, or <c>\tfrac{p}{q}</c> with the sign in front.</summary>
    public string ToLatex() =>
        IsInteger ? Numerator.ToString(CultureInfo.InvariantCulture)
        : $"{(Sign < 0 ? "-" : "")}\\tfrac{{{BigInteger.Abs(Numerator).ToString(CultureInfo.InvariantCulture)}}}{{{Denominator.ToString(CultureInfo.InvariantCulture)}}}";

    /// <summary>Least common multiple of the denominators: multiplying by it makes every entry an integer.</summary>
    public static BigInteger CommonDenominator(IEnumerable<Rational> values)
    {
        var l = BigInteger.One;
        foreach (var v in values)
            l = l / BigInteger.GreatestCommonDivisor(l, v.Denominator) * v.Denominator;
        return l;
    }
}
