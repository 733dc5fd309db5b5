using System.Globalization;
using System.Numerics;

namespace InputGradients.Theory;

/// <summary>
/// An exact rational number p/q with BigInteger parts, always normalised (q &gt; 0, gcd(p, q) = 1),
/// so equality is structural. Used where the theory questions need exact answers (LPs, regions).
/// </summary>
public readonly struct Rational : IEquatable<Rational>, IComparable<Rational>
{
    public BigInteger Numerator { get; }
    // Stored as denominator - 1 so that default(Rational) is 0/1.
    readonly BigInteger _denominatorMinusOne;
    public BigInteger Denominator => _denominatorMinusOne + BigInteger.One;

    public static readonly Rational Zero = new(BigInteger.Zero);
    public static readonly Rational One = new(BigInteger.One);

    public Rational(BigInteger integer)
    {
        Numerator = integer;
        _denominatorMinusOne = BigInteger.Zero;
    }

    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException("Rational with a zero denominator.");
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        if (!denominator.IsOne)
        {
            var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
            if (!g.IsOne && !g.IsZero) { numerator /= g; denominator /= g; }
            if (numerator.IsZero) denominator = BigInteger.One;
        }
        Numerator = numerator;
        _denominatorMinusOne = denominator - BigInteger.One;
    }

    public int Sign => Numerator.Sign;
    public bool IsZero => Numerator.IsZero;
    public bool IsInteger => _denominatorMinusOne.IsZero;

    public static implicit operator Rational(int value) => new(value);
    public static implicit operator Rational(long value) => new(value);
    public static implicit operator Rational(BigInteger value) => new(value);
    public static explicit operator double(Rational r) => r.ToDouble();

    public double ToDouble()
    {
        var d = (double)Numerator / (double)Denominator;
        if (double.IsFinite(d) && (d != 0 || IsZero)) return d;
        // Parts beyond double's range: divide in the log domain.
        return Numerator.Sign * Math.Exp(BigInteger.Log(BigInteger.Abs(Numerator)) - BigInteger.Log(Denominator));
    }

    public static Rational operator +(Rational a, Rational b) =>
        a.IsInteger && b.IsInteger ? new Rational(a.Numerator + b.Numerator)
        : new Rational(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);

    public static Rational operator -(Rational a, Rational b) =>
        a.IsInteger && b.IsInteger ? new Rational(a.Numerator - b.Numerator)
        : new Rational(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);

    public static Rational operator -(Rational a) => a.IsInteger ? new Rational(-a.Numerator) : new Rational(-a.Numerator, a.Denominator);

    public static Rational operator *(Rational a, Rational b)
    {
        if (a.IsZero || b.IsZero) return Zero;
        return a.IsInteger && b.IsInteger ? new Rational(a.Numerator * b.Numerator)
            : new Rational(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    }

    public static Rational operator /(Rational a, Rational b)
    {
        if (b.IsZero) throw new DivideByZeroException("Division of a Rational by zero.");
        return new Rational(a.Numerator * b.Denominator, a.Denominator * b.Numerator);
    }

    public static bool operator ==(Rational a, Rational b) => a.Equals(b);
    public static bool operator !=(Rational a, Rational b) => !a.Equals(b);
    public static bool operator <(Rational a, Rational b) => a.CompareTo(b) < 0;
    public static bool operator >(Rational a, Rational b) => a.CompareTo(b) > 0;
    public static bool operator <=(Rational a, Rational b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Rational a, Rational b) => a.CompareTo(b) >= 0;

    public Rational Abs() => Sign < 0 ? -this : this;

    public bool Equals(Rational other) => Numerator == other.Numerator && _denominatorMinusOne == other._denominatorMinusOne;
    public override bool Equals(object? obj) => obj is Rational r && Equals(r);
    public override int GetHashCode() => HashCode.Combine(Numerator, _denominatorMinusOne);

    public int CompareTo(Rational other) =>
        IsInteger && other.IsInteger ? Numerator.CompareTo(other.Numerator)
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
