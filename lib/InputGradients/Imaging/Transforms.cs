using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Imaging;

/// <summary>
/// torchvision-like transforms on float image tensors (...,C,H,W): <see cref="Resize(Tensor,int,int?)"/>,
/// <see cref="CenterCrop(Tensor,int,int)"/>, <see cref="ToTensor"/> and <see cref="Normalize"/>.
/// Sizes follow torchvision's rules exactly; resizing is PIL's bilinear filter with antialiasing
/// (what torchvision does on PIL images, and on tensors with <c>antialias=True</c>), computed in float
/// without PIL's 8-bit rounding between the two passes.
/// </summary>
public static class Transforms
{
    /// <summary>
    /// torchvision's output size for <c>Resize(size)</c> with an int: the shorter side becomes <paramref name="size"/>,
    /// the longer one <c>int(size * long / short)</c> (truncated), optionally capped by <paramref name="maxSize"/>.
    /// Returns (height, width).
    /// </summary>
    public static (int Height, int Width) ResizedSize(int height, int width, int size, int? maxSize = null)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "Resize size must be positive");
        if (height <= 0 || width <= 0) throw new ArgumentException($"cannot resize an empty image {height}x{width}");
        bool portrait = width <= height;
        int shortSide = portrait ? width : height, longSide = portrait ? height : width;
        int newShort = size, newLong = (int)((double)size * longSide / shortSide);
        if (maxSize is int max)
        {
            if (max <= size)
                throw new ArgumentException($"max_size = {max} must be strictly greater than the requested size {size}");
            if (newLong > max)
            {
                newShort = (int)((double)max * newShort / newLong);
                newLong = max;
            }
        }
        return portrait ? (newLong, newShort) : (newShort, newLong);
    }

    /// <summary>Resizes so that the shorter side is <paramref name="size"/> (torchvision <c>Resize(size)</c>).</summary>
    public static Tensor Resize(Tensor image, int size, int? maxSize = null)
    {
        CheckImage(image, nameof(Resize));
        var (h, w) = ResizedSize((int)image.shape[^2], (int)image.shape[^1], size, maxSize);
        return Resize(image, h, w);
    }

    /// <summary>Resizes to exactly (height, width) (torchvision <c>Resize((h, w))</c>), bilinear with antialias.</summary>
    public static Tensor Resize(Tensor image, int height, int width)
    {
        CheckImage(image, nameof(Resize));
        if (height <= 0 || width <= 0) throw new ArgumentException($"Resize to an empty size {height}x{width}");
        using var scope = NewDisposeScope();
        long inH = image.shape[^2], inW = image.shape[^1];
        var x = image.to_type(ScalarType.Float32);
        // Separable filter as two matrix products: rows (outH x inH) @ x @ cols (inW x outW).
        if (inH != height) x = matmul(BilinearAntialiasWeights((int)inH, height, x.device), x);
        if (inW != width) x = matmul(x, BilinearAntialiasWeights((int)inW, width, x.device).t());
        return (ReferenceEquals(x, image) ? image.clone() : x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The (outSize x inSize) weights of PIL's antialiased bilinear (triangle) filter, the algorithm of
    /// PIL's <c>ImagingResample</c> and of torch's <c>_upsample_bilinear2d_aa</c>: output pixel i has centre
    /// (i+0.5)*scale in input coordinates; the triangle is stretched by the scale when shrinking; weights are
    /// normalised to sum to 1. When enlarging this equals ordinary bilinear with align_corners=false.
    /// </summary>
    public static Tensor BilinearAntialiasWeights(int inSize, int outSize, Device? device = null)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 1.0 * filterScale;  // the triangle's support is 1
        var weights = new float[outSize * inSize];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize);
            double total = 0;
            var row = new double[xmax - xmin];
            for (int j = xmin; j < xmax; j++)
            {
                double t = Math.Abs((j - center + 0.5) / filterScale);
                double v = t < 1 ? 1 - t : 0;
                row[j - xmin] = v;
                total += v;
            }
            for (int j = xmin; j < xmax; j++)
                weights[i * inSize + j] = total > 0 ? (float)(row[j - xmin] / total) : 0f;
        }
        return tensor(weights, [outSize, inSize], device: device);
    }

    /// <summary>
    /// torchvision's <c>CenterCrop</c>: top = round((H - h) / 2), left = round((W - w) / 2) with Python's
    /// round-half-to-even; an image smaller than the crop is first padded with zeros on both sides
    /// (left/top get (crop - size) / 2 rounded down, right/bottom the rest).
    /// </summary>
    public static Tensor CenterCrop(Tensor image, int height, int width)
    {
        CheckImage(image, nameof(CenterCrop));
        if (height <= 0 || width <= 0) throw new ArgumentException($"CenterCrop to an empty size {height}x{width}");
        using var scope = NewDisposeScope();
        var x = image;
        long h = x.shape[^2], w = x.shape[^1];
        if (height > h || width > w)
        {
            long padH = Math.Max(0, height - h), padW = Math.Max(0, width - w);
            // torchvision: [left, top, right, bottom] = [padW // 2, padH // 2, (padW + 1) // 2, (padH + 1) // 2]
            x = nn.functional.pad(x, [padW / 2, (padW + 1) / 2, padH / 2, (padH + 1) / 2]);
            h = x.shape[^2]; w = x.shape[^1];
        }
        var (top, left) = CenterCropOffsets((int)h, (int)w, height, width);
        return x.narrow(-2, top, height).narrow(-1, left, width).clone().MoveToOuterDisposeScope();
    }

    /// <summary>Square <see cref="CenterCrop(Tensor,int,int)"/>.</summary>
    public static Tensor CenterCrop(Tensor image, int size) => CenterCrop(image, size, size);

    /// <summary>(top, left) of torchvision's centre crop of an image at least as large as the crop.</summary>
    public static (int Top, int Left) CenterCropOffsets(int height, int width, int cropHeight, int cropWidth) =>
        ((int)Math.Round((height - cropHeight) / 2.0, MidpointRounding.ToEven),
         (int)Math.Round((width - cropWidth) / 2.0, MidpointRounding.ToEven));

    /// <summary>
    /// torchvision's <c>ToTensor</c> for raw pixels: bytes in (H,W,C) order (C = 1, 3 or 4) to a float tensor
    /// (C,H,W) on 0-1.
    /// </summary>
    public static Tensor ToTensor(byte[] hwc, int height, int width, int channels)
    {
        if ((long)height * width * channels != hwc.LongLength)
            throw new ArgumentException(
                $"ToTensor: {hwc.LongLength} bytes do not make an image of {height}x{width}x{channels}", nameof(hwc));
        using var scope = NewDisposeScope();
        return tensor(hwc, [height, width, channels], ScalarType.Byte).permute(2, 0, 1)
            .to_type(ScalarType.Float32).div_scalar_(255).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's <c>Normalize</c>: (x - mean[c]) / std[c] for each channel c of (...,C,H,W).</summary>
    public static Tensor Normalize(Tensor image, double[] mean, double[] std)
    {
        CheckImage(image, nameof(Normalize));
        long c = image.shape[^3];
        if (mean.Length != c || std.Length != c)
            throw new ArgumentException($"Normalize: {c} channels but {mean.Length} means and {std.Length} stds");
        if (std.Any(s => s == 0)) throw new ArgumentException("Normalize: a standard deviation is zero");
        using var scope = NewDisposeScope();
        var m = tensor(mean.Select(v => (float)v).ToArray(), [c, 1, 1], device: image.device);
        var s = tensor(std.Select(v => (float)v).ToArray(), [c, 1, 1], device: image.device);
        return ((image - m) / s).MoveToOuterDisposeScope();
    }

    /// <summary>ImageNet's channel means and standard deviations on 0-1 (torchvision's pretrained models).</summary>
    public static readonly double[] ImageNetMean = [0.485, 0.456, 0.406], ImageNetStd = [0.229, 0.224, 0.225];

    static void CheckImage(Tensor image, string op)
    {
        if (image.dim() < 3)
            throw new ArgumentException($"{op}: expected an image tensor (...,C,H,W), got shape ({string.Join(",", image.shape)})");
    }
}
