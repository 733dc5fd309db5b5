using InputGradients.Synthesis.Style;
using InputGradients.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

/// <summary>
/// The energy-normalised weights shared by the CLI and the bench: with them, each loss term measured against an
/// all-zero image (for the content and style terms) or on the content image (total variation) equals its relative
/// weight, at any image size. The losses are the library's own loss functions, not the weights' code.
/// </summary>
public sealed class EnergyWeightsTests(BackboneFixture fx) : IClassFixture<BackboneFixture>
{
    [Theory]
    [InlineData(64, 1.0, 1000.0, 1.0)]
    [InlineData(96, 2.0, 10.0, 0.5)]
    public void Each_term_equals_its_relative_weight(int size, double cw, double sw, double tw)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var content = (rand([1, 3, size, size], generator: g) * 255 - 120).contiguous();
        var style = (rand([1, 3, size, size + 32], generator: g) * 255 - 120).contiguous();
        var o = EnergyWeights.Options(fx.Model, content, style, contentWeight: cw, styleWeight: sw, tvWeight: tw);
        Assert.Equal(EnergyWeights.ContentLayer, o.ContentLayer);
        Assert.Equal(EnergyWeights.StyleLayers, o.StyleLayers);

        using var _ = no_grad();
        var p = fx.Model.forward_features(content, o.ContentLayer)[o.ContentLayer];
        Assert.Equal(cw, StyleLosses.content_loss(o.ContentWeight, zeros_like(p), p).item<float>(), cw * 1e-5);
        var taps = fx.Model.forward_features(style, [.. o.StyleLayers]);
        var targets = o.StyleLayers.Select(l => StyleLosses.gram_matrix(taps[l])).ToList();
        var blank = o.StyleLayers.Select(l => zeros_like(taps[l])).ToList();
        for (int l = 0; l < targets.Count; l++)
            Assert.Equal(sw, StyleLosses.style_loss([blank[l]], [targets[l]], [o.StyleWeights[l]]).item<float>(), sw * 1e-5);
        Assert.Equal(tw, StyleLosses.tv_loss(content, o.TvWeight).item<float>(), tw * 1e-5);
    }
}
