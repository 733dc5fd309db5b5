using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>
/// What <see cref="Ascent"/> optimises, and how it becomes the model's input: leaf <see cref="Parameters"/>, a
/// differentiable <see cref="input"/> (N×C×H×W in the model's input space), a 0-1 <see cref="image"/> to show, and
/// projections after each step (<see cref="after_step"/>: clamping, periodic blur, a budget). Owns its tensors: dispose it.
/// </summary>
public interface IParameterization : IDisposable
{
    /// <summary>Number of images.</summary>
    long Batch { get; }
    /// <summary>The leaf tensors the optimiser updates.</summary>
    IReadOnlyList<Tensor> Parameters { get; }
    /// <summary>The model input N×C×H×W, in the autograd graph of <see cref="Parameters"/>.</summary>
    Tensor input();
    /// <summary>The images on 0-1 (RGB or grey, image channel order), detached. A new tensor.</summary>
    Tensor image();
    /// <summary>Projection after the optimiser's step <paramref name="t"/> (0-based), under no_grad.</summary>
    void after_step(int t);
    string Description { get; }
}

/// <summary>Factories of the parameterisations.</summary>
/// <example><code>
/// using var p = Parameterization.Fourier(net.InputSpace, batch: 4, 128, 128, seed: 1);    // decorrelated, for RGB models
/// using var q = Parameterization.Pixels(FashionMnistNet.Space, 1, 28, 28, initScale: 0.1);
/// </code></example>
public static class Parameterization
{
    /// <summary>Pixels in the input space, started at <paramref name="initScale"/>·N(0,1) (seeded; float32 draws, as the
    /// original), clamped to the valid range after each step and blurred (σ = <paramref name="blurSigma"/>) after steps
    /// 0, <paramref name="blurEvery"/>, 2·<paramref name="blurEvery"/>… (0: never).</summary>
    public static PixelImage Pixels(InputSpace space, long batch, long height, long width, double initScale = 1, long seed = 0,
        int blurEvery = 0, double blurSigma = 0.5, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        using var scope = torch.NewDisposeScope();
        using var gen = Seeded(seed);
        var init = torch.randn(new[] { batch, space.Channels, height, width }, dtype: ScalarType.Float32, generator: gen).to(dtype, device ?? torch.CPU).mul_scalar(initScale);
        return new PixelImage(init, space, space.Low, space.High, blurEvery, blurSigma);
    }

    /// <summary>Decorrelated Fourier image (<see cref="FourierImage"/>), spectrum started at <paramref name="sd"/>·N(0,1).</summary>
    public static FourierImage Fourier(InputSpace space, long batch, long height, long width, long seed = 0, double sd = 0.01,
        double decayPower = 1, bool decorrelate = true, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        new(space, batch, height, width, seed, sd, decayPower, decorrelate, dtype, device ?? torch.CPU);

    internal static torch.Generator Seeded(long seed) => new((ulong)seed);
}

/// <summary>
/// The original parameterisation: the input pixels themselves. After each step: an L∞ box around a reference
/// (fooling budget), then per-channel clamping to [low, high], then every <c>blurEvery</c> steps a Gaussian blur
/// (the original's order: clamp, then blur).
/// </summary>
public sealed class PixelImage : IParameterization
{
    readonly Tensor x;
    readonly InputSpace? space;
    readonly Tensor? low, high, boxLow, boxHigh;
    readonly int blurEvery;
    readonly double blurSigma;

    /// <param name="initial">Start, N×C×H×W in input units (copied).</param>
    /// <param name="space">For <see cref="image"/>; null shows the input itself.</param>
    /// <param name="low">Per-channel lower bounds, or null.</param>
    /// <param name="high">Per-channel upper bounds, or null.</param>
    /// <param name="blurEvery">Blur after steps 0, k, 2k…; 0 never.</param>
    /// <param name="blurSigma">σ of the blur.</param>
    /// <param name="budget">Largest |change| of any value from <paramref name="initial"/> (L∞ ball), in input units; null: none.</param>
    public PixelImage(Tensor initial, InputSpace? space = null, double[]? low = null, double[]? high = null, int blurEvery = 0,
        double blurSigma = 0.5, double? budget = null)
    {
        if (initial.dim() != 4) throw new ArgumentException($"PixelImage: expected N×C×H×W, got [{string.Join(",", initial.shape)}].");
        long c = initial.shape[1];
        if (low is { } lo && lo.Length != c || high is { } hi && hi.Length != c)
            throw new ArgumentException($"PixelImage: the bounds need {c} values (one per channel).");
        if (space is not null && space.Channels != c) throw new ArgumentException($"PixelImage: {c} channels, but the input space {space} has {space.Channels}.");
        if (blurEvery < 0) throw new ArgumentOutOfRangeException(nameof(blurEvery), $"blurEvery must be non-negative, got {blurEvery}.");
        if (budget is { } b && !(b >= 0)) throw new ArgumentOutOfRangeException(nameof(budget), $"The budget must be non-negative, got {b}.");
        (this.space, this.blurEvery, this.blurSigma) = (space, blurEvery, blurSigma);
        using var scope = torch.NewDisposeScope();   // the temporaries below (detach() makes new tensors too)
        x = initial.detach().clone().requires_grad_(true).DetachFromDisposeScope();
        this.low = low is null ? null : Keep(InputSpace.Column(low, x));
        this.high = high is null ? null : Keep(InputSpace.Column(high, x));
        if (budget is { } e) {
            boxLow = Keep(initial.detach().sub_scalar(e));
            boxHigh = Keep(initial.detach().add_scalar(e));
        }
        Description = "pixels" + (low is not null ? ", clamped" : "") + (blurEvery > 0 ? $", blur σ={blurSigma:G3} every {blurEvery}" : "") +
                      (budget is { } bb ? $", L∞ budget {bb:G4}" : "");
        Parameters = new[] { x };
    }

    static Tensor Keep(Tensor t) { t.DetachFromDisposeScope(); return t; }

    public long Batch => x.shape[0];
    public IReadOnlyList<Tensor> Parameters { get; }
    public string Description { get; }

    public Tensor input() => x.alias();

    public Tensor image()
    {
        using var d = x.detach();
        return space is null ? d.clone() : space.to_image(d);
    }

    public void after_step(int t)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        if (boxLow is not null) x.copy_(torch.minimum(torch.maximum(x, boxLow), boxHigh!));
        if (low is not null) x.copy_(torch.maximum(x, low));
        if (high is not null) x.copy_(torch.minimum(x, high));
        if (blurEvery > 0 && t % blurEvery == 0) x.copy_(ClassVisualizationTransforms.gaussian_blur(x, blurSigma));
    }

    public void Dispose()
    {
        x.Dispose(); low?.Dispose(); high?.Dispose(); boxLow?.Dispose(); boxHigh?.Dispose();
    }
}

/// <summary>
/// Decorrelated image parameterisation (Olah et al., "Feature Visualization", Distill 2017; Lucid/Lucent's
/// <c>fft_image</c> + <c>to_valid_rgb</c>): the parameters are the 2-D real FFT (orthonormal) of each channel, scaled
/// per frequency f (cycles per pixel) by 1/max(f, 1/max(H,W))^decay, so that plain gradient steps change all spatial
/// frequencies at similar rates (natural images have a 1/f spectrum); the result, divided by 4, is mapped through the
/// square root of ImageNet's colour correlation (RGB models, normalised so that its largest column has norm 1) and a
/// sigmoid to a 0-1 image, which <see cref="InputSpace.from_image"/> turns into the model's input.
/// </summary>
public sealed class FourierImage : IParameterization
{
    /// <summary>Square root of ImageNet's RGB colour correlation (from an SVD), as published with Lucid; rows R, G, B.</summary>
    public static readonly double[,] ColorCorrelationSvdSqrt = { { 0.26, 0.09, 0.02 }, { 0.27, 0.00, -0.05 }, { 0.27, -0.09, 0.03 } };

    /// <summary>Divides the internal image by this (Lucid's constant; keeps the start near mid-grey).</summary>
    public const double Magic = 4.0;

    readonly Tensor spectrum;   // N×C×H×(W/2+1)×2 (real, imaginary)
    readonly Tensor scale;         // 1×1×H×(W/2+1)×1
    readonly Tensor? colour;       // 3×3 normalised colour matrix
    readonly InputSpace space;
    readonly long height, width;

    public FourierImage(InputSpace space, long batch, long height, long width, long seed = 0, double sd = 0.01, double decayPower = 1,
        bool decorrelate = true, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        if (batch < 1 || height < 2 || width < 2) throw new ArgumentException($"FourierImage: need batch ≥ 1 and an image of at least 2×2, got {batch}×{height}×{width}.");
        (this.space, this.height, this.width) = (space, height, width);
        device ??= torch.CPU;
        using var scope = torch.NewDisposeScope();
        long c = space.Channels;
        using var gen = Parameterization.Seeded(seed);
        var init = torch.randn(new[] { batch, c, height, width / 2 + 1, 2 }, dtype: ScalarType.Float32, generator: gen).to(dtype, device).mul_scalar(sd);
        spectrum = init.requires_grad_(true).DetachFromDisposeScope();
        scale = Frequencies(height, width, decayPower, dtype, device).DetachFromDisposeScope();
        colour = decorrelate && c == 3 ? ColourMatrix(dtype, device).DetachFromDisposeScope() : null;
        Description = $"Fourier (1/f^{decayPower:G3})" + (colour is not null ? " + colour decorrelation" : "") + ", sigmoid";
        Parameters = new[] { spectrum };
    }

    /// <summary>1/max(f, 1/max(H,W))^decay for the rfft2 grid (f = √(fy² + fx²), cycles per pixel), shaped 1×1×H×(W/2+1)×1.</summary>
    public static Tensor Frequencies(long h, long w, double decayPower, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var v = new double[h * (w / 2 + 1)];
        double floor = 1.0 / Math.Max(h, w);
        for (long i = 0; i < h; i++) {
            double fy = (i <= (h - 1) / 2 ? i : i - h) / (double)h;   // numpy's fftfreq
            for (long j = 0; j <= w / 2; j++) {
                double fx = j / (double)w;                            // numpy's rfftfreq
                v[i * (w / 2 + 1) + j] = 1 / Math.Pow(Math.Max(Math.Sqrt(fy * fy + fx * fx), floor), decayPower);
            }
        }
        return torch.tensor(v, dtype: dtype, device: device ?? torch.CPU).view(1, 1, h, w / 2 + 1, 1);
    }

    /// <summary>The colour matrix divided by its largest column norm (3×3, rows R, G, B).</summary>
    public static Tensor ColourMatrix(ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var m = ColorCorrelationSvdSqrt;
        double maxNorm = Enumerable.Range(0, 3).Max(j => Math.Sqrt(Enumerable.Range(0, 3).Sum(i => m[i, j] * m[i, j])));
        var v = new double[9];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) v[i * 3 + j] = m[i, j] / maxNorm;
        return torch.tensor(v, dtype: dtype, device: device ?? torch.CPU).view(3, 3);
    }

    public long Batch => spectrum.shape[0];
    public IReadOnlyList<Tensor> Parameters { get; }
    public string Description { get; }

    /// <summary>The image before the sigmoid (N×C×H×W): inverse FFT of the scaled spectrum / 4, colours mixed.</summary>
    public Tensor logits()
    {
        using var scope = torch.NewDisposeScope();
        var z = torch.view_as_complex(spectrum * scale);
        var img = torch.fft.irfft2(z, s: new[] { height, width }, norm: FFTNormType.Ortho).div_scalar(Magic);
        if (colour is not null) img = torch.einsum("ij,njhw->nihw", colour, img);
        return img.MoveToOuterDisposeScope();
    }

    public Tensor image()
    {
        using var _ = torch.no_grad();
        using var l = logits();
        return l.sigmoid();
    }

    public Tensor input()
    {
        using var scope = torch.NewDisposeScope();
        return space.from_image(logits().sigmoid()).MoveToOuterDisposeScope();
    }

    public void after_step(int t) { }

    /// <summary>Sets the parameters so that <see cref="image"/> is <paramref name="image01"/> (N×C×H×W, values inside
    /// (0, 1); clipped to [1e-6, 1 − 1e-6]): the inverse of each stage. Used to start from a photo, and by the round-trip test.</summary>
    public void set_image(Tensor image01)
    {
        if (image01.dim() != 4 || image01.shape[0] != Batch || image01.shape[1] != space.Channels || image01.shape[2] != height || image01.shape[3] != width)
            throw new ArgumentException($"FourierImage.set_image: expected [{Batch},{space.Channels},{height},{width}], got [{string.Join(",", image01.shape)}].");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var p = image01.to(spectrum.dtype, spectrum.device).clamp_scalar(1e-6, 1 - 1e-6);
        var l = (p / p.rsub_scalar(1)).log();
        if (colour is not null) l = torch.einsum("ij,njhw->nihw", torch.linalg.inv(colour), l);
        var z = torch.fft.rfft2(l.mul_scalar(Magic), norm: FFTNormType.Ortho);
        spectrum.copy_(torch.view_as_real(z) / scale);
    }

    public void Dispose()
    {
        spectrum.Dispose(); scale.Dispose(); colour?.Dispose();
    }
}
