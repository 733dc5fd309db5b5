using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Display;

/// <summary>
/// Display scaling for signed attributions (guided backprop, guided Grad-CAM) whose few extreme values would
/// otherwise squeeze everything else to mid grey under min-max scaling.
/// </summary>
public static class PercentileScale
{
    /// <summary>
    /// Each example of an N×… batch divided by the <paramref name="percentile"/>-th percentile of its |values|
    /// (nearest rank), clipped to [-1, 1] and mapped to [0, 1] with zero at 0.5: values beyond the percentile
    /// saturate, the rest keep their sign and proportion. A map of zeros stays at 0.5.
    /// </summary>
    public static Tensor SignedToUnit(Tensor attributions, double percentile = 99)
    {
        ArgumentNullException.ThrowIfNull(attributions);
        if (attributions.dim() < 2 || attributions.shape[0] < 1)
            throw new ArgumentException($"SignedToUnit expects an N×… batch, got [{string.Join(",", attributions.shape)}].");
        if (!(percentile > 0 && percentile <= 100)) throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "percentile must be in (0, 100].");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var a = attributions.detach().to_type(ScalarType.Float32);
        var flat = a.reshape(a.shape[0], -1);
        long k = Math.Max(1, (long)Math.Ceiling(percentile / 100 * flat.shape[1]));   // nearest rank
        var clip = flat.abs().kthvalue(k, 1, keepdim: true).values.clamp_scalar(1e-30f, null);
        return (flat / clip).clamp_scalar(-1, 1).mul_scalar(0.5).add_scalar(0.5).reshape(a.shape).MoveToOuterDisposeScope();
    }
}
