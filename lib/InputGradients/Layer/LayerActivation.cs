using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Layer;

/// <summary>
/// The activation of a layer (Captum's LayerActivation). <see cref="attribute"/> gives the channel mean N×1×h×w
/// (as the original assignment showed it); <see cref="attribute_channels"/> the full N×C×h×w output.
/// The target is not used: activations do not depend on it.
/// </summary>
/// <example><code>
/// var la = new LayerActivation(model, "features.3");
/// using var mean_map = la.attribute_at_input_size(x, 0);     // N×1×H×W
/// using var all = la.attribute_channels(x);                  // N×C×h×w
/// </code></example>
public sealed class LayerActivation(nn.Module<Tensor, Tensor> model, string layer) : ILayerAttribution
{
    public string Layer { get; } = layer;

    public Tensor attribute(Tensor inputs, Target target)
    {
        using var a = attribute_channels(inputs);
        LayerGradients.check_maps(a, Layer, nameof(LayerActivation));
        return a.mean(new long[] { 1 }, keepdim: true);
    }

    /// <summary>The layer's output for the inputs, detached (shape of the layer output).</summary>
    public Tensor attribute_channels(Tensor inputs)
    {
        Gradients.check_batch(inputs, nameof(LayerActivation));
        using var guard = new ModelGuard(model);
        using var scope = torch.NewDisposeScope();
        using var no = torch.no_grad();
        var (_, layers) = LayerTaps.run(model, inputs.detach(), false, Layer);
        return layers[Layer].detach().clone().MoveToOuterDisposeScope();
    }
}
