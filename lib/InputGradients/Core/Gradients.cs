using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>Gradients of target scores with respect to inputs: the primitive of every gradient method.</summary>
public static class Gradients
{
    /// <summary>
    /// d(sum of target scores)/d(inputs) for a batch (N×…, same shape as <paramref name="inputs"/>), and the scores (N).
    /// The caller's tensor is not modified: a detached copy requires grad.
    /// </summary>
    public static (Tensor grad, Tensor scores) input_gradients(nn.Module<Tensor, Tensor> model, Tensor inputs, Target target)
    {
        using var scope = torch.NewDisposeScope();
        using var enable = torch.enable_grad();
        var x = inputs.detach().requires_grad_(true);
        var scores = forward_scores(model, x, target);
        var g = torch.autograd.grad(new[] { scores.sum() }, new[] { x })[0];
        return (g.detach().MoveToOuterDisposeScope(), scores.detach().MoveToOuterDisposeScope());
    }

    /// <summary>The target scores (N) of <paramref name="x"/>, in the autograd graph of <paramref name="x"/>.</summary>
    public static Tensor forward_scores(nn.Module<Tensor, Tensor> model, Tensor x, Target target)
    {
        var layer = target.LayerName;
        var (output, layers) = layer is null ? LayerTaps.run(model, x, true) : LayerTaps.run(model, x, false, layer);
        return target.scores(output, layers, x.shape[0]);
    }

    internal static void check_batch(Tensor inputs, string method)
    {
        if (inputs.dim() < 2) throw new ArgumentException($"{method}: inputs must be a batch N×…, got shape [{string.Join(",", inputs.shape)}].");
        if (!inputs.is_floating_point()) throw new ArgumentException($"{method}: inputs must be floating point, got {inputs.dtype}.");
    }
}
