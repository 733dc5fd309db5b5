using TorchSharp;

namespace InputGradients.Display;

/// <summary>
/// Pixels in [0, 1], row-major H x W x 3 (RGB). The one in-memory form every panel is drawn from.
/// </summary>
internal sealed class Raster
{
    public Raster(int height, int width, float[] rgb)
    {
        if (rgb.Length != height * width * 3)
            throw new ArgumentException($"Expected {height}x{width}x3 = {height * width * 3} values, got {rgb.Length}.");
        Height = height;
        Width = width;
        Rgb = rgb;
    }

    public int Height { get; }
    public int Width { get; }
    public float[] Rgb { get; }

    /// <summary>One channel (H x W values) through a colour map after scaling to [0, 1].</summary>
    public static Raster FromScalar(int h, int w, float[] values, ImageScale scale, ColorMap cmap, bool isBytes)
    {
        var unit = ToUnit(values, scale, isBytes);
        var rgb = new float[h * w * 3];
        for (int i = 0; i < h * w; i++)
        {
            var (r, g, b) = cmap.Map(unit[i]);
            rgb[3 * i] = (float)r;
            rgb[3 * i + 1] = (float)g;
            rgb[3 * i + 2] = (float)b;
        }
        return new Raster(h, w, rgb);
    }

    /// <summary>Planar C x H x W (C = 3) values to interleaved RGB after scaling.</summary>
    public static Raster FromPlanarRgb(int h, int w, float[] planar, ImageScale scale, bool isBytes)
    {
        var unit = ToUnit(planar, scale, isBytes);
        var rgb = new float[h * w * 3];
        int plane = h * w;
        for (int i = 0; i < plane; i++)
        {
            rgb[3 * i] = unit[i];
            rgb[3 * i + 1] = unit[plane + i];
            rgb[3 * i + 2] = unit[2 * plane + i];
        }
        return new Raster(h, w, rgb);
    }

    public static float[] ToUnit(float[] values, ImageScale scale, bool isBytes)
    {
        var result = new float[values.Length];
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (float.IsNaN(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (scale == ImageScale.Auto)
            scale = isBytes || max > 1.0f + 1e-3f ? ImageScale.Byte : ImageScale.Unit;
        float offset = 0, factor = 1;
        switch (scale)
        {
            case ImageScale.Byte:
                factor = 1f / 255f;
                break;
            case ImageScale.MinMax:
                offset = float.IsFinite(min) ? min : 0;
                factor = max > min ? 1f / (max - min) : 0f;
                break;
            case ImageScale.Symmetric:
                float m = Math.Max(Math.Abs(float.IsFinite(min) ? min : 0), Math.Abs(float.IsFinite(max) ? max : 0));
                offset = -m;
                factor = m > 0 ? 1f / (2 * m) : 0f;
                break;
        }
        for (int i = 0; i < values.Length; i++)
        {
            var v = (values[i] - offset) * factor;
            // An all-equal map under MinMax/Symmetric has factor 0: show it mid-grey rather than black.
            if (factor == 0f && scale is ImageScale.MinMax or ImageScale.Symmetric) v = scale == ImageScale.Symmetric ? 0.5f : 0f;
            result[i] = float.IsNaN(v) ? 0f : Math.Clamp(v, 0f, 1f);
        }
        return result;
    }

    /// <summary>Bilinear resize of one H x W channel (align_corners = false, as torch's interpolate).</summary>
    public static float[] ResizeBilinear(float[] src, int h, int w, int newH, int newW)
    {
        if (h == newH && w == newW) return (float[])src.Clone();
        var dst = new float[newH * newW];
        float sy = (float)h / newH, sx = (float)w / newW;
        for (int y = 0; y < newH; y++)
        {
            float fy = Math.Max((y + 0.5f) * sy - 0.5f, 0);
            int y0 = Math.Min((int)fy, h - 1), y1 = Math.Min(y0 + 1, h - 1);
            float wy = fy - y0;
            for (int x = 0; x < newW; x++)
            {
                float fx = Math.Max((x + 0.5f) * sx - 0.5f, 0);
                int x0 = Math.Min((int)fx, w - 1), x1 = Math.Min(x0 + 1, w - 1);
                float wx = fx - x0;
                float top = src[y0 * w + x0] * (1 - wx) + src[y0 * w + x1] * wx;
                float bottom = src[y1 * w + x0] * (1 - wx) + src[y1 * w + x1] * wx;
                dst[y * newW + x] = top * (1 - wy) + bottom * wy;
            }
        }
        return dst;
    }

    /// <summary>
    /// Reads an image-shaped tensor: [H,W], [C,H,W] or [1,C,H,W] with C = 1 or 3 (channels first, as PyTorch).
    /// Returns planar values (C x H x W) as floats and whether the dtype was uint8.
    /// </summary>
    public static (int C, int H, int W, float[] Values, bool IsBytes) ReadTensor(torch.Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor, what);
        var shape = tensor.shape;
        long[] chw = shape.Length switch
        {
            2 => [1, shape[0], shape[1]],
            3 => shape,
            4 when shape[0] == 1 => shape[1..],
            4 => throw new ArgumentException(
                $"{what}: a batch of {shape[0]} images [{string.Join(", ", shape)}] is not one image; " +
                "use ImageGrid.AddBatch to show each, or index one (t[i]).", what),
            _ => throw new ArgumentException(
                $"{what}: expected an image tensor [H,W], [C,H,W] or [1,C,H,W]; got shape [{string.Join(", ", shape)}].", what),
        };
        if (chw[0] is not (1 or 3))
            throw new ArgumentException(
                $"{what}: expected 1 or 3 channels first (C,H,W); got shape [{string.Join(", ", shape)}]" +
                (chw[2] is 1 or 3 ? ". It looks channels-last (H,W,C): permute(2, 0, 1) it first." : "."), what);
        if (chw[1] == 0 || chw[2] == 0)
            throw new ArgumentException($"{what}: empty image, shape [{string.Join(", ", shape)}].", what);
        if (tensor.is_complex() || tensor.dtype == torch.ScalarType.Bool)
            throw new ArgumentException($"{what}: cannot display a {tensor.dtype} tensor as an image.", what);
        bool isBytes = tensor.dtype == torch.ScalarType.Byte;
        using var scope = torch.NewDisposeScope();
        var values = tensor.detach().cpu().to_type(torch.ScalarType.Float32).contiguous().data<float>().ToArray();
        return ((int)chw[0], (int)chw[1], (int)chw[2], values, isBytes);
    }
}
