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
        var g = grad(scores.sum(), [x], $"The target ({target})", ["the input"])[0];
        return (g.detach().MoveToOuterDisposeScope(), scores.detach().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// <c>torch.autograd.grad([output], inputs)</c>, with a clear error where <paramref name="output"/> does not depend
    /// on an input. Asked plainly, libtorch refuses such a call with an error that TorchSharp's <c>autograd.grad</c>
    /// does not catch: the process aborts (a notebook kernel dies). So the output is checked first and unused inputs
    /// are asked for with <c>allow_unused</c>, which gives them no tensor.
    /// </summary>
    /// <param name="what">Names the output in the error ("The target (...)", "The objective").</param>
    /// <param name="inputNames">Names the inputs in the error, one per input.</param>
    public static Tensor[] grad(Tensor output, IReadOnlyList<Tensor> inputs, string what, IReadOnlyList<string> inputNames)
    {
        if (!output.requires_grad)
            throw new InvalidOperationException($"{what} does not depend on {string.Join(" or ", inputNames)} through anything differentiable: there is no gradient.");
        var grads = torch.autograd.grad(new[] { output }, inputs.ToArray(), allow_unused: true).ToArray();
        for (int i = 0; i < grads.Length; i++)
            if (grads[i] is null || grads[i].IsInvalid || grads[i].Handle == IntPtr.Zero)
                throw new InvalidOperationException($"{what} does not depend on {inputNames[i]} (it is computed before it, or from another branch): there is no gradient of it there.");
        return grads;
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
