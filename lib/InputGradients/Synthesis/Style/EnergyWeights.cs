using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis.Style;

/// <summary>
/// Style-transfer weights that work at any image size: each loss term is divided by its target's energy (Σ P² for the
/// content, Σ A² for each Gram matrix, the content image's total variation), then multiplied by a relative weight, so
/// the weights say how much each term counts against the others. The defaults (content at <c>layer2</c>, style at
/// <c>stem.relu, layer1, layer2, layer3</c>, weights 1, 1000 per layer, 1) were chosen on data/images with
/// data/styles; the CLI's <c>style</c> command and the bench both use them.
/// </summary>
public static class EnergyWeights
{
    public const string ContentLayer = "layer2";
    public static readonly IReadOnlyList<string> StyleLayers = ["stem.relu", "layer1", "layer2", "layer3"];
    public const double ContentWeight = 1, StyleWeight = 1000, TvWeight = 1;

    /// <summary>Options whose weights are <paramref name="contentWeight"/>, <paramref name="styleWeight"/> (each style
    /// layer) and <paramref name="tvWeight"/> over the energies of <paramref name="content"/> and <paramref name="style"/>
    /// (model inputs, 1×3×H×W) at the given taps of <paramref name="net"/>.</summary>
    public static StyleTransferOptions Options(ITappable net, Tensor content, Tensor style, string contentLayer = ContentLayer,
        IReadOnlyList<string>? styleLayers = null, double contentWeight = ContentWeight, double styleWeight = StyleWeight, double tvWeight = TvWeight)
    {
        var layers = (styleLayers ?? StyleLayers).ToArray();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = net.forward_features(content, contentLayer)[contentLayer];
        var taps = net.forward_features(style, layers);
        // A blank target has no energy; the floor keeps its weight finite.
        double Energy(Tensor t) => Math.Max(t.pow_scalar(2).sum().item<float>(), 1e-12);
        return new StyleTransferOptions
        {
            ContentLayer = contentLayer, ContentWeight = contentWeight / Energy(p),
            StyleLayers = layers, StyleWeights = layers.Select(l => styleWeight / Energy(StyleLosses.gram_matrix(taps[l]))).ToArray(),
            TvWeight = tvWeight / Math.Max(StyleLosses.tv_loss(content, 1.0).item<float>(), 1e-12),
        };
    }
}
