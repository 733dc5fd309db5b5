using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>A rectangle of pixels: rows [Top, Top + Height), columns [Left, Left + Width).</summary>
public readonly record struct Box(int Top, int Left, int Height, int Width)
{
    public override string ToString() => $"rows {Top}-{Top + Height - 1}, columns {Left}-{Left + Width - 1}";
}

/// <summary>
/// Numbers that say whether two attribution maps differ and where: their correlation, and the share of a map's mass
/// inside a region.
/// </summary>
public static class MapComparison
{
    /// <summary>
    /// Pearson correlation of <paramref name="a"/>[i] and <paramref name="b"/>[i] over all their values, for each
    /// example i of two N×… batches of the same shape. A constant map has no correlation: NaN.
    /// </summary>
    public static double[] Correlation(Tensor a, Tensor b)
    {
        Same(a, b, nameof(Correlation));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = a.detach().to_type(ScalarType.Float64).reshape(a.shape[0], -1);
        var y = b.detach().to_type(ScalarType.Float64).reshape(b.shape[0], -1);
        x = x - x.mean(new long[] { 1 }, keepdim: true);
        y = y - y.mean(new long[] { 1 }, keepdim: true);
        var r = (x * y).sum(1) / ((x * x).sum(1) * (y * y).sum(1)).sqrt();
        return r.cpu().data<double>().Select(v => double.IsFinite(v) ? v : double.NaN).ToArray();
    }

    /// <summary>
    /// For each map of a non-negative N×…×H×W batch, the share of its total inside <paramref name="region"/> (0-1);
    /// NaN for an all-zero map.
    /// </summary>
    public static double[] MassShare(Tensor maps, Box region)
    {
        ArgumentNullException.ThrowIfNull(maps);
        if (maps.dim() < 3) throw new ArgumentException($"MassShare expects N×…×H×W maps, got [{string.Join(",", maps.shape)}].");
        long h = maps.shape[^2], w = maps.shape[^1];
        if (region.Top < 0 || region.Left < 0 || region.Height < 1 || region.Width < 1 || region.Top + region.Height > h || region.Left + region.Width > w)
            throw new ArgumentOutOfRangeException(nameof(region), region, $"MassShare: the region must lie inside the {h}×{w} map.");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var m = maps.detach().to_type(ScalarType.Float64);
        if (m.min().item<double>() < 0) throw new ArgumentException("MassShare needs non-negative maps (apply ReLU or abs first).");
        var inside = m.narrow(-2, region.Top, region.Height).narrow(-1, region.Left, region.Width).reshape(m.shape[0], -1).sum(1);
        var total = m.reshape(m.shape[0], -1).sum(1);
        var share = inside / total;
        return share.cpu().data<double>().Select(v => double.IsFinite(v) ? v : double.NaN).ToArray();
    }

    /// <summary>
    /// The <paramref name="region"/> of each image of an N×C×H×W batch, resized (bilinear) to
    /// <paramref name="size"/>×<paramref name="size"/>: what a network sees of one object in a photo.
    /// </summary>
    public static Tensor Crop(Tensor images, Box region, int size)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4) throw new ArgumentException($"Crop expects N×C×H×W images, got [{string.Join(",", images.shape)}].");
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "size must be at least 1.");
        long h = images.shape[2], w = images.shape[3];
        if (region.Top < 0 || region.Left < 0 || region.Height < 1 || region.Width < 1 || region.Top + region.Height > h || region.Left + region.Width > w)
            throw new ArgumentOutOfRangeException(nameof(region), region, $"Crop: the region must lie inside the {h}×{w} image.");
        using var scope = torch.NewDisposeScope();
        var part = images.narrow(2, region.Top, region.Height).narrow(3, region.Left, region.Width).to_type(ScalarType.Float32);
        return nn.functional.interpolate(part, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false)
            .MoveToOuterDisposeScope();
    }

    static void Same(Tensor a, Tensor b, string what)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!a.shape.SequenceEqual(b.shape) || a.dim() < 2)
            throw new ArgumentException($"{what} expects two N×… batches of the same shape, got [{string.Join(",", a.shape)}] and [{string.Join(",", b.shape)}].");
    }
}
