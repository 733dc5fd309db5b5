using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>
/// How much an image was changed, in pixel units: the largest change of one pixel value (L∞), the Euclidean norm of
/// the whole change (L2) and the mean absolute change, over every channel and pixel.
/// </summary>
public readonly record struct ImageChange(double LInf, double L2, double MeanAbs)
{
    /// <summary>
    /// The change from <paramref name="original"/> to <paramref name="changed"/> (same shape), each difference
    /// multiplied by <paramref name="unit"/> first: e.g. 255·std to go from standardised inputs to grey levels 0-255.
    /// </summary>
    public static ImageChange Between(Tensor original, Tensor changed, double unit = 1)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(changed);
        if (!original.shape.SequenceEqual(changed.shape))
            throw new ArgumentException($"ImageChange: shapes differ, [{string.Join(",", original.shape)}] and [{string.Join(",", changed.shape)}].");
        if (!(unit > 0) || double.IsInfinity(unit)) throw new ArgumentOutOfRangeException(nameof(unit), unit, "unit must be a positive number.");
        if (original.numel() == 0) throw new ArgumentException("ImageChange: the images are empty.");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var d = (changed.detach() - original.detach()).to_type(ScalarType.Float64).abs().mul_scalar(unit);
        return new ImageChange(d.max().item<double>(), d.pow_scalar(2).sum().sqrt().item<double>(), d.mean().item<double>());
    }

    public override string ToString() => $"L∞ {LInf:0.##}, L2 {L2:0.#}, mean |change| {MeanAbs:0.###}";
}
