using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Layer;

/// <summary>A layer's output and the gradient of the target scores with respect to it.</summary>
public static class LayerGradients
{
    /// <summary>
    /// Runs the model on <paramref name="inputs"/> (N×…), captures the output A of <paramref name="layer"/> and
    /// returns (A, ∂Σscores/∂A, scores), all detached. Uses <c>torch.autograd.grad</c> on the captured tensor
    /// (TorchSharp has no tensor hooks).
    /// </summary>
    public static (Tensor activation, Tensor gradient, Tensor scores) compute(nn.Module<Tensor, Tensor> model, Tensor inputs, string layer, Target target)
    {
        using var scope = torch.NewDisposeScope();
        using var enable = torch.enable_grad();
        // The input must require grad so that A is in a graph even when the parameters are frozen.
        var x = inputs.detach().requires_grad_(true);
        var names = target.LayerName is string t && t != layer ? new[] { layer, t } : new[] { layer };
        var (output, layers) = LayerTaps.run(model, x, target.LayerName is null, names);
        var scores = target.scores(output, layers, x.shape[0]);
        var a = layers[layer];
        var g = Gradients.grad(scores.sum(), [a], $"The target ({target})", [$"layer '{layer}'"])[0];
        return (a.detach().MoveToOuterDisposeScope(), g.detach().MoveToOuterDisposeScope(), scores.detach().MoveToOuterDisposeScope());
    }

    internal static void check_maps(Tensor a, string layer, string method)
    {
        if (a.dim() != 4) throw new InvalidOperationException($"{method}: layer '{layer}' gives shape [{string.Join(",", a.shape)}]; a N×C×h×w feature map is needed.");
    }
}
