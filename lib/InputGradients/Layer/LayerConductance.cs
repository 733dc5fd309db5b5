using InputGradients.Attribution;
using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Layer;

/// <summary>
/// Layer conductance (Dhamdhere, Sundararajan, Yan, "How Important Is a Neuron?", ICLR 2019), as Captum computes it:
/// with α_0 … α_m the nodes of <see cref="Method"/> for m = Steps + 1 points, y(α) the layer output at
/// x' + α(x − x') and g(α) = ∂score/∂y there, conductance = Σ_{k&lt;Steps} (y(α_{k+1}) − y(α_k)) ⊙ g(α_k).
/// With the trapezoid nodes (α from 0 to 1, our default) the conductances of a layer sum to about
/// F(x) − F(x'); Captum's default is Gauss-Legendre, whose nodes miss the end points.
/// </summary>
/// <example><code>
/// var lc = new LayerConductance(model, "features.3") { Steps = 50 };
/// using var per_channel = lc.attribute_channels(x, Target.Classes(y));   // N×C×h×w
/// using var map = lc.attribute(x, Target.Classes(y));                     // N×1×h×w, summed over channels
/// </code></example>
public sealed class LayerConductance(nn.Module<Tensor, Tensor> model, string layer) : ILayerAttribution
{
    public string Layer { get; } = layer;
    public int Steps { get; init; } = 50;
    public IntegrationMethod Method { get; init; } = IntegrationMethod.RiemannTrapezoid;

    public Tensor attribute(Tensor inputs, Target target)
    {
        using var c = attribute_channels(inputs, target);
        return c.sum(1, keepdim: true);
    }

    /// <summary>Conductance of every neuron of the layer: the layer output's shape. <paramref name="baseline"/>
    /// broadcasts to the inputs (default zeros).</summary>
    public Tensor attribute_channels(Tensor inputs, Target target, Tensor? baseline = null)
    {
        Gradients.check_batch(inputs, nameof(LayerConductance));
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), $"LayerConductance: Steps must be at least 1, got {Steps}.");
        var (alphas, _) = Quadrature.rule(Method, Steps + 1);
        using var guard = new ModelGuard(model);
        using var scope = torch.NewDisposeScope();
        var x = inputs.detach();
        var x0 = baseline is null ? torch.zeros_like(x) : baseline.detach().expand_as(x);
        Tensor? total = null, y_prev = null, g_prev = null;
        foreach (var alpha in alphas) {
            // One scope per step: only the running total and the previous step's layer output and gradient survive it,
            // so memory does not grow with Steps.
            using var step = torch.NewDisposeScope();
            var (y, g, _) = LayerGradients.compute(model, x0.add_tensor(x - x0, alpha), Layer, target);
            if (y_prev is not null) {
                var term = (y - y_prev) * g_prev!;
                var next = total is null ? term : total.add_tensor(term);
                total?.Dispose();
                total = next.MoveToOuterDisposeScope();
                y_prev.Dispose();
                g_prev!.Dispose();
            }
            (y_prev, g_prev) = (y.MoveToOuterDisposeScope(), g.MoveToOuterDisposeScope());
        }
        return total!.MoveToOuterDisposeScope();
    }
}
