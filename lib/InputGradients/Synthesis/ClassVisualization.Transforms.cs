using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>Exact image transforms of the class-visualisation loop (N×C×H×W tensors): jitter and SciPy-style blur.</summary>
public static class ClassVisualizationTransforms
{
    /// <summary>Circular shift by <paramref name="ox"/> pixels along the width and <paramref name="oy"/> along the
    /// height (the original's <c>jitter</c>; negative values undo it). Returns a new tensor.</summary>
    public static Tensor jitter(Tensor X, long ox, long oy)
    {
        if (X.dim() != 4) throw new ArgumentException($"jitter: expected N×C×H×W, got [{string.Join(",", X.shape)}].");
        return X.roll(new[] { oy, ox }, new long[] { 2, 3 });
    }

    /// <summary>1-D Gaussian weights exactly as SciPy's <c>gaussian_filter1d</c>: radius = ⌊truncate·σ + 0.5⌋,
    /// w_i ∝ exp(−i²/(2σ²)), normalised to sum 1.</summary>
    public static double[] gaussian_kernel(double sigma, double truncate = 4.0)
    {
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), $"sigma must be positive, got {sigma}.");
        int r = (int)(truncate * sigma + 0.5);
        var w = new double[2 * r + 1];
        for (int i = -r; i <= r; i++) w[i + r] = Math.Exp(-0.5 * i * i / (sigma * sigma));
        var s = w.Sum();
        for (int i = 0; i < w.Length; i++) w[i] /= s;
        return w;
    }

    /// <summary>
    /// Separable Gaussian blur over H and W with SciPy's default boundary (<c>mode='reflect'</c>: the edge pixel is
    /// repeated, d c b a | a b c d), as the original's <c>blur_image</c> (σ = 0.5 gives a 5-tap kernel). Returns a new tensor.
    /// </summary>
    public static Tensor gaussian_blur(Tensor X, double sigma, double truncate = 4.0)
    {
        if (X.dim() != 4) throw new ArgumentException($"gaussian_blur: expected N×C×H×W, got [{string.Join(",", X.shape)}].");
        var w = gaussian_kernel(sigma, truncate);
        int r = w.Length / 2;
        if (r == 0) return X.clone();
        if (X.shape[2] < r || X.shape[3] < r) throw new ArgumentException($"gaussian_blur: image {X.shape[2]}×{X.shape[3]} smaller than the kernel radius {r}.");
        using var scope = torch.NewDisposeScope();
        long c = X.shape[1];
        var k = torch.tensor(w, dtype: X.dtype, device: X.device);
        var y = symmetric_pad(X, 3, r);
        y = nn.functional.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, w.Length), groups: c);
        y = symmetric_pad(y, 2, r);
        y = nn.functional.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, w.Length, 1), groups: c);
        return y.MoveToOuterDisposeScope();
    }

    private static Tensor symmetric_pad(Tensor x, long dim, int r)
    {
        long n = x.shape[dim];
        var before = x.narrow(dim, 0, r).flip(dim);
        var after = x.narrow(dim, n - r, r).flip(dim);
        return torch.cat(new[] { before, x, after }, dim);
    }
}
