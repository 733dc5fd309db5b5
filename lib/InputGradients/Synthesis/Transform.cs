using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Synthesis;

/// <summary>
/// A differentiable image transform applied to the batch before each forward pass of <see cref="Ascent"/> (N×C×H×W in,
/// N×C×H'×W' out); random ones draw from the loop's <see cref="Random"/>, the same draw for every example. Small and
/// composable (<see cref="Compose"/>), as in Lucid/Lucent: robustness to them is what keeps high-frequency noise out.
/// The exact operations (<see cref="roll"/>, <see cref="crop"/>, <see cref="scale"/>, <see cref="rotate"/>) are public
/// for tests and reuse.
/// </summary>
/// <example><code>
/// var t = Transform.Compose(Transform.Pad(12), Transform.Jitter(8), Transform.RandomScale(0.9, 1.0, 1.1), Transform.RandomRotate(-10, 0, 10));
/// </code></example>
public sealed class Transform
{
    readonly Func<Tensor, Random, Tensor> f;

    public string Description { get; }

    public Transform(string description, Func<Tensor, Random, Tensor> apply) => (Description, f) = (description, apply);

    /// <summary>Transforms <paramref name="x"/> (N×C×H×W), drawing any random choice from <paramref name="rng"/>. A new tensor.</summary>
    public Tensor apply(Tensor x, Random rng)
    {
        if (x.dim() != 4) throw new ArgumentException($"Transform '{Description}': expected N×C×H×W, got [{string.Join(",", x.shape)}].");
        return f(x, rng);
    }

    public override string ToString() => Description;

    /// <summary>The identity.</summary>
    public static Transform None { get; } = new("none", (x, _) => x.alias());

    /// <summary>Applies <paramref name="steps"/> left to right.</summary>
    public static Transform Compose(params Transform[] steps) => steps.Length == 0 ? None :
        new(string.Join(", ", steps.Select(s => s.Description)), (x, rng) =>
        {
            using var scope = torch.NewDisposeScope();
            var y = x;
            foreach (var s in steps) y = s.apply(y, rng);
            return (ReferenceEquals(y, x) ? x.alias() : y).MoveToOuterDisposeScope();
        });

    /// <summary>The original assignment's jitter: a circular shift by (ox, oy) drawn uniformly from 0..<paramref name="max"/>
    /// (ox first). Its gradient is the shift undone, exactly the original's roll-step-unroll.</summary>
    public static Transform Roll(int max)
    {
        if (max < 0) throw new ArgumentOutOfRangeException(nameof(max), $"Roll: max must be non-negative, got {max}.");
        return new($"roll ≤ {max} px", (x, rng) =>
        {
            int ox = rng.Next(0, max + 1), oy = rng.Next(0, max + 1);
            return roll(x, ox, oy);
        });
    }

    /// <summary>Lucent's jitter: a random crop <paramref name="d"/> pixels smaller in each direction (offsets 0..d−1).</summary>
    public static Transform Jitter(int d)
    {
        if (d < 1) throw new ArgumentOutOfRangeException(nameof(d), $"Jitter: d must be at least 1, got {d}.");
        return new($"jitter {d} px", (x, rng) =>
        {
            int dx = rng.Next(0, d), dy = rng.Next(0, d);
            return crop(x, dy, dx, x.shape[2] - d, x.shape[3] - d);
        });
    }

    /// <summary>Pads <paramref name="w"/> pixels on every side by reflection (so no fill value in input units is needed).</summary>
    public static Transform Pad(int w)
    {
        if (w < 0) throw new ArgumentOutOfRangeException(nameof(w), $"Pad: width must be non-negative, got {w}.");
        return new($"pad {w} px", (x, _) =>
        {
            if (w >= x.shape[2] || w >= x.shape[3]) throw new ArgumentException($"Pad: {w} px needs an image larger than {x.shape[2]}×{x.shape[3]}.");
            return F.pad(x, new long[] { w, w, w, w }, PaddingModes.Reflect);
        });
    }

    /// <summary>Bilinear rescale by a factor drawn from <paramref name="factors"/>.</summary>
    public static Transform RandomScale(params double[] factors)
    {
        if (factors.Length == 0 || factors.Any(s => !(s > 0))) throw new ArgumentException("RandomScale: give at least one positive factor.");
        return new($"scale {factors.Min():G3}..{factors.Max():G3}", (x, rng) => scale(x, factors[rng.Next(factors.Length)]));
    }

    /// <summary>Rotation about the centre by an angle (degrees) drawn from <paramref name="degrees"/>.</summary>
    public static Transform RandomRotate(params double[] degrees)
    {
        if (degrees.Length == 0) throw new ArgumentException("RandomRotate: give at least one angle.");
        return new($"rotate {degrees.Min():G3}..{degrees.Max():G3}°", (x, rng) => rotate(x, degrees[rng.Next(degrees.Length)]));
    }

    /// <summary>Differentiable Gaussian blur (SciPy's kernel and reflect boundary, <see cref="ClassVisualizationTransforms.gaussian_blur"/>).</summary>
    public static Transform Blur(double sigma) => new($"blur σ={sigma:G3}", (x, _) => ClassVisualizationTransforms.gaussian_blur(x, sigma));

    /// <summary>Lucent's standard robustness set, with reflection padding: pad 12, jitter 8, scale 0.9..1.1 (11 steps),
    /// rotate −10..10° (0 five times more likely), jitter 4.</summary>
    public static Transform Standard() => Compose(
        Pad(12), Jitter(8),
        RandomScale(Enumerable.Range(0, 11).Select(i => 1 + (i - 5) / 50.0).ToArray()),
        RandomRotate(Enumerable.Range(-10, 21).Select(d => (double)d).Concat(Enumerable.Repeat(0.0, 5)).ToArray()),
        Jitter(4));

    /// <summary>Circular shift by <paramref name="ox"/> columns and <paramref name="oy"/> rows.</summary>
    public static Tensor roll(Tensor x, long ox, long oy) => x.roll(new[] { oy, ox }, new long[] { 2, 3 });

    /// <summary>The h×w window starting at row <paramref name="top"/>, column <paramref name="left"/>.</summary>
    public static Tensor crop(Tensor x, long top, long left, long h, long w)
    {
        if (top < 0 || left < 0 || h < 1 || w < 1 || top + h > x.shape[2] || left + w > x.shape[3])
            throw new ArgumentException($"crop: window {h}×{w} at ({top}, {left}) does not fit in {x.shape[2]}×{x.shape[3]}.");
        return x.narrow(2, top, h).narrow(3, left, w);
    }

    /// <summary>Bilinear resize by <paramref name="factor"/> (output size rounded; align_corners false, as torchvision).</summary>
    public static Tensor scale(Tensor x, double factor)
    {
        long h = Math.Max(1, (long)Math.Round(x.shape[2] * factor)), w = Math.Max(1, (long)Math.Round(x.shape[3] * factor));
        if (h == x.shape[2] && w == x.shape[3]) return x.alias();
        return F.interpolate(x, new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false);
    }

    /// <summary>Rotation by <paramref name="degrees"/> (counter-clockwise as displayed, rows down) about the image centre,
    /// bilinear, edge pixels repeated outside. Multiples of 90° on square images move pixels exactly.</summary>
    public static Tensor rotate(Tensor x, double degrees)
    {
        if (degrees == 0) return x.alias();
        using var scope = torch.NewDisposeScope();
        double a = degrees * Math.PI / 180, c = Math.Cos(a), s = Math.Sin(a);
        // Snap the ±1/0 of right angles so that exact rotations stay exact.
        c = Math.Abs(c) < 1e-12 ? 0 : c; s = Math.Abs(s) < 1e-12 ? 0 : s;
        double h = x.shape[2], w = x.shape[3];
        // affine_grid works in [-1, 1] coordinates per axis; the aspect factors keep the rotation rigid in pixels.
        var theta = torch.tensor(new[] { c, -s * h / w, 0, s * w / h, c, 0 }, dtype: x.dtype, device: x.device)
            .view(1, 2, 3).expand(x.shape[0], 2, 3);
        var grid = F.affine_grid(theta, x.shape, align_corners: false);
        return F.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false).MoveToOuterDisposeScope();
    }
}
