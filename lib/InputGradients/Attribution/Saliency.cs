using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Attribution;

/// <summary>
/// Saliency maps: the gradient of the target score with respect to the input
/// (Simonyan, Vedaldi, Zisserman, "Deep Inside Convolutional Networks", ICLR workshop 2014).
/// </summary>
/// <example><code>
/// var saliency = new Saliency(model);
/// using var a = saliency.attribute(x, Target.Classes(y));         // N×3×H×W, |gradient|
/// using var m = Saliency.compute_saliency_maps(x, y, model);      // N×H×W, max over channels, as in the paper
/// </code></example>
public sealed class Saliency(nn.Module<Tensor, Tensor> model) : IAttribution
{
    /// <summary>Absolute value of the gradient (default, as Captum); false gives the raw signed gradient.</summary>
    public bool Abs { get; init; } = true;

    /// <inheritdoc/>
    public Tensor attribute(Tensor inputs, Target target)
    {
        Gradients.check_batch(inputs, nameof(Saliency));
        using var guard = new ModelGuard(model);
        var (g, s) = Gradients.input_gradients(model, inputs, target);
        s.Dispose();
        if (!Abs) return g;
        using (g) return g.abs();
    }

    /// <summary>
    /// The paper's map: max over colour channels of |d score_y / d X|. <paramref name="X"/> N×C×H×W, result N×H×W.
    /// </summary>
    public static Tensor compute_saliency_maps(Tensor X, Target y, nn.Module<Tensor, Tensor> model)
    {
        if (X.dim() != 4) throw new ArgumentException($"compute_saliency_maps: X must be N×C×H×W, got [{string.Join(",", X.shape)}].");
        using var scope = torch.NewDisposeScope();
        var a = new Saliency(model).attribute(X, y);
        return a.amax(new long[] { 1 }).MoveToOuterDisposeScope();
    }
}
