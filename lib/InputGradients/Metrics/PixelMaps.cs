using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Metrics;

/// <summary>Bringing attributions of any method to one importance value per pixel, and the baselines maps are
/// compared with.</summary>
public static class PixelMaps
{
    /// <summary>N×H×W importance per pixel from N×H×W, N×1×H×W or N×C×H×W attributions (channels summed), as
    /// double on the CPU.</summary>
    public static Tensor per_pixel(Tensor maps, string what = "maps")
    {
        var shape = $"[{string.Join(",", maps.shape)}]";
        if (!maps.is_floating_point()) throw new ArgumentException($"{what}: expected floating point maps, got {maps.dtype} {shape}.");
        return maps.dim() switch {
            3 => maps.detach().to_type(ScalarType.Float64).cpu().clone(),
            4 => maps.detach().to_type(ScalarType.Float64).cpu().sum(1),
            _ => throw new ArgumentException($"{what}: expected N×H×W or N×C×H×W maps, got {shape}."),
        };
    }

    /// <summary>Pixel indices (row-major) from most to least important; ties keep the lower index first.</summary>
    public static long[] ranking(double[] map)
    {
        var order = Enumerable.Range(0, map.Length).Select(i => (long)i).ToArray();
        // A stable sort on the negated value: equal values keep their pixel order.
        return order.OrderByDescending(i => map[i]).ToArray();
    }

    /// <summary>A random map per example (uniform in [0, 1), seeded): the baseline every method should beat.</summary>
    public static Tensor random_map(long n, long height, long width, long seed = 0)
    {
        var gen = new torch.Generator((ulong)seed);
        return torch.rand(new[] { n, height, width }, dtype: ScalarType.Float64, generator: gen);
    }

    /// <summary>An edge detector as a "saliency map" (Adebayo et al.'s point of comparison): the Sobel gradient
    /// magnitude √(Gx² + Gy²) of the image summed over channels, zero padding, N×H×W. It needs no model at all.</summary>
    public static Tensor sobel_map(Tensor images)
    {
        if (images.dim() != 4) throw new ArgumentException($"sobel_map: expected N×C×H×W images, got [{string.Join(",", images.shape)}].");
        using var scope = torch.NewDisposeScope();
        var x = images.detach().to_type(ScalarType.Float64).cpu();
        long c = x.shape[1];
        var gx = torch.tensor(new double[] { -1, 0, 1, -2, 0, 2, -1, 0, 1 }, dtype: ScalarType.Float64).reshape(1, 1, 3, 3).repeat(c, 1, 1, 1);
        var gy = gx.transpose(2, 3).contiguous();
        var ex = nn.functional.conv2d(x, gx, padding: new long[] { 1, 1 }, groups: c);
        var ey = nn.functional.conv2d(x, gy, padding: new long[] { 1, 1 }, groups: c);
        return (ex * ex).add_tensor(ey * ey).sqrt().sum(1).MoveToOuterDisposeScope();
    }

    internal static double[] row(Tensor t, long i) => t[i].contiguous().data<double>().ToArray();
}
