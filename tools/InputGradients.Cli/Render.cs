using InputGradients.Core;
using InputGradients.Display;
using InputGradients.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Cli;

/// <summary>Writes maps and images as PNG files: the map alone (jet colours) and the map over the image.</summary>
public static class Render
{
    /// <summary>Smallest side of a written image: small inputs (Fashion-MNIST's 28 px) are enlarged, pixels kept sharp.</summary>
    public const int MinSide = 224;

    /// <summary>A map H×W scaled to [0, 1]: min-max, with the top 0.5% clipped for gradient maps (one hot pixel would
    /// otherwise make the rest black).</summary>
    public static Tensor Normalize(Tensor map, bool clipTop)
    {
        using var scope = NewDisposeScope();
        var m = map.detach().to_type(ScalarType.Float32).cpu();
        var lo = m.min();
        var hi = clipTop ? m.flatten().quantile(tensor(0.995f)) : m.max();
        var range = (hi - lo).clamp_scalar(1e-12, null);
        return ((m - lo) / range).clamp_scalar(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>A [0, 1] map H×W → RGB 3×H×W in the jet colour map.</summary>
    public static Tensor Colour(Tensor unit)
    {
        var values = unit.contiguous().data<float>().ToArray();
        int h = (int)unit.shape[0], w = (int)unit.shape[1], n = h * w;
        var rgb = new float[3 * n];
        for (int i = 0; i < n; i++)
        {
            var (r, g, b) = ColorMap.Jet.Map(values[i]);
            rgb[i] = (float)r; rgb[n + i] = (float)g; rgb[2 * n + i] = (float)b;
        }
        return tensor(rgb).view(3, h, w);
    }

    /// <summary>The map over the image: each pixel blends towards the map colour as much as the map is strong.</summary>
    public static Tensor Overlay(Tensor image01, Tensor unit, double alpha = 0.65)
    {
        using var scope = NewDisposeScope();
        var rgb = image01.shape[0] == 1 ? image01.expand(3, -1, -1) : image01;
        var a = unit.unsqueeze(0).mul_scalar(alpha);
        return (rgb * a.rsub_scalar(1)).add_tensor(Colour(unit) * a).MoveToOuterDisposeScope();
    }

    /// <summary>Saves C×H×W on 0-1, enlarged by a whole factor (nearest) up to <see cref="MinSide"/> unless
    /// <paramref name="enlarge"/> is false.</summary>
    public static void Save(Tensor image01, string path, bool enlarge = true)
    {
        using var scope = NewDisposeScope();
        var x = image01.detach().cpu().to_type(ScalarType.Float32);
        if (x.dim() == 2) x = x.unsqueeze(0);
        long side = Math.Min(x.shape[1], x.shape[2]);
        if (enlarge && side < MinSide)
        {
            long f = (MinSide + side - 1) / side;
            x = nn.functional.interpolate(x.unsqueeze(0), [x.shape[1] * f, x.shape[2] * f], mode: InterpolationMode.Nearest)[0];
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        ImageIO.SavePng(x, path, PixelScale.Unit);
    }
}
