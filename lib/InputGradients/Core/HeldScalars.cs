using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// Tensor-and-number operations whose libtorch <see cref="Scalar"/> stays alive for the whole native call. Named
/// after ATen's overloads (<c>mul.Scalar</c>, <c>add.Tensor</c>, ...).
/// <para>
/// Why: TorchSharp 0.107 turns a number into a native Scalar and passes only its handle to libtorch; nothing holds
/// the managed object during the call. That happens in <c>x * 2.0</c>, <c>x.clamp(0, 1)</c> and even <c>a + b</c>
/// (whose alpha of 1 is such a Scalar). If a garbage collection started by another thread (a notebook kernel sending
/// output, say) runs then, the Scalar's finalizer frees it while libtorch reads it: "Unknown scalar type", or a
/// wrong number. Measured with a thread forcing collections: about 6 of every 100,000 <c>x * 2.0</c> failed, none
/// of these. The library calls none of those TorchSharp entry points; <c>HeldScalarTests</c> scans its IL.
/// </para>
/// </summary>
public static class HeldScalars
{
    // Held by this static field for the life of the process, so never finalized.
    static readonly Scalar One = 1.ToScalar();

    // The Scalar lives until op has returned: the using disposes it after the native call, not before.
    static Tensor Held(double value, Func<Scalar, Tensor> op)
    {
        using var s = value.ToScalar();
        return op(s);
    }

    static Tensor Held(long value, Func<Scalar, Tensor> op)
    {
        using var s = value.ToScalar();
        return op(s);
    }

    /// <summary><c>a + b</c> (ATen <c>add.Tensor</c>, alpha 1).</summary>
    public static Tensor add_tensor(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a += b</c> in place.</summary>
    public static Tensor add_tensor_(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>x.index_add_(dim, index, source)</c> with alpha 1.</summary>
    public static Tensor index_add_tensor_(this Tensor x, long dim, Tensor index, Tensor source) => x.index_add_(dim, index, source, One);

    /// <summary><c>a + alpha * b</c> (ATen <c>add.Tensor</c>).</summary>
    public static Tensor add_tensor(this Tensor a, Tensor b, double alpha) => Held(alpha, s => a.add(b, s));

    /// <summary><c>a += alpha * b</c> in place.</summary>
    public static Tensor add_tensor_(this Tensor a, Tensor b, double alpha) => Held(alpha, s => a.add_(b, s));

    /// <summary><c>x + value</c> (ATen <c>add.Scalar</c>).</summary>
    public static Tensor add_scalar(this Tensor x, double value) => Held(value, s => x.add(s, One));

    /// <summary><c>x += value</c> in place.</summary>
    public static Tensor add_scalar_(this Tensor x, double value) => Held(value, s => x.add_(s, One));

    /// <summary><c>x - value</c>.</summary>
    public static Tensor sub_scalar(this Tensor x, double value) => Held(value, s => x.sub(s));

    /// <summary><c>value - x</c> (ATen <c>rsub.Scalar</c>).</summary>
    public static Tensor rsub_scalar(this Tensor x, double value) => Held(value, s => x.neg().add_(s, One));

    /// <summary><c>x * value</c> (ATen <c>mul.Scalar</c>).</summary>
    public static Tensor mul_scalar(this Tensor x, double value) => Held(value, s => x.mul(s));

    /// <summary><c>x *= value</c> in place.</summary>
    public static Tensor mul_scalar_(this Tensor x, double value) => Held(value, s => x.mul_(s));

    /// <summary><c>x / value</c> (ATen <c>div.Scalar</c>).</summary>
    public static Tensor div_scalar(this Tensor x, double value) => Held(value, s => x.div(s));

    /// <summary><c>x /= value</c> in place.</summary>
    public static Tensor div_scalar_(this Tensor x, double value) => Held(value, s => x.div_(s));

    /// <summary><c>x ** exponent</c> (ATen <c>pow.Tensor_Scalar</c>).</summary>
    public static Tensor pow_scalar(this Tensor x, double exponent) => Held(exponent, s => x.pow(s));

    /// <summary><c>x += value · t1 · t2</c> in place (ATen <c>addcmul_</c>).</summary>
    public static Tensor addcmul_scalar_(this Tensor x, Tensor t1, Tensor t2, double value) => Held(value, s => x.addcmul_(t1, t2, s));

    /// <summary><c>x += value · t1 / t2</c> in place (ATen <c>addcdiv_</c>).</summary>
    public static Tensor addcdiv_scalar_(this Tensor x, Tensor t1, Tensor t2, double value) => Held(value, s => x.addcdiv_(t1, t2, s));

    /// <summary><c>x.clamp(min, max)</c> with numbers; either bound may be absent.</summary>
    public static Tensor clamp_scalar(this Tensor x, double? min, double? max)
    {
        using var lo = min?.ToScalar();
        using var hi = max?.ToScalar();
        return x.clamp(lo, hi);
    }

    /// <summary><c>x != value</c>, elementwise.</summary>
    public static Tensor ne_scalar(this Tensor x, double value) => Held(value, s => x.ne(s));

    /// <summary><c>x &gt; value</c>, elementwise.</summary>
    public static Tensor gt_scalar(this Tensor x, double value) => Held(value, s => x.gt(s));

    /// <summary><c>x &lt; value</c>, elementwise.</summary>
    public static Tensor lt_scalar(this Tensor x, double value) => Held(value, s => x.lt(s));

    /// <summary><c>x.fill_(value)</c>.</summary>
    public static Tensor fill_scalar_(this Tensor x, double value) => Held(value, s => x.fill_(s));

    /// <summary>A tensor of <paramref name="size"/> filled with <paramref name="value"/> (<c>torch.full</c>).</summary>
    public static Tensor filled(long[] size, double value, ScalarType dtype, Device? device = null) => Held(value, s => full(size, s, dtype, device));

    /// <summary><c>x + value</c> with an integer, so integer tensors stay integer.</summary>
    public static Tensor add_scalar(this Tensor x, long value) => Held(value, s => x.add(s, One));

    /// <summary><c>x * value</c> with an integer, so integer tensors stay integer.</summary>
    public static Tensor mul_scalar(this Tensor x, long value) => Held(value, s => x.mul(s));

    /// <summary><c>x.fill_(value)</c> with an integer.</summary>
    public static Tensor fill_scalar_(this Tensor x, long value) => Held(value, s => x.fill_(s));

    /// <summary>The one element of <paramref name="x"/> as a double, whatever its floating or integer type.</summary>
    public static double to_double(this Tensor x)
    {
        if (x.numel() != 1) throw new ArgumentException($"Expected one element, got a tensor of shape [{string.Join(", ", x.shape)}].", nameof(x));
        using var d = x.to_type(ScalarType.Float64);
        return d.item<double>();
    }
}
