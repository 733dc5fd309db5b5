using InputGradients.Synthesis;
using TorchSharp;
using InputGradients.Tests.Models;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

public sealed class FeatureVisualizationTests(BackboneFixture fx) : IClassFixture<BackboneFixture>
{
    [Fact]
    public void Ascent_on_a_pre_relu_channel_raises_it_and_keeps_pixels_valid()
    {
        var net = fx.Model;
        var o = FeatureVisualization.options_for_0_255(net.MeanBgr, size: 64, iterations: 15) with { Seed = 3 };
        using var r = FeatureVisualization.channel(net, "layer3.1.pre_relu", 7, o);
        // Measured directly on the final image, without jitter: the channel's mean must have risen well above the
        // value at the noise start (objective 0 is that value, as L2Reg is 0).
        double final;
        using (no_grad())
            final = net.forward_features(r.Image, "layer3.1.pre_relu")["layer3.1.pre_relu"].select(1, 7).mean().ToDouble();
        Assert.True(final > r.Objectives[0] + 1.0, $"channel mean {r.Objectives[0]} at the start, {final} at the end");
        for (var c = 0; c < 3; c++)
        {
            var ch = r.Image.select(1, c);
            Assert.True(ch.min().ToSingle() >= -net.MeanBgr[c] - 1e-3f && ch.max().ToSingle() <= 255 - net.MeanBgr[c] + 1e-3f);
        }
    }

    [Fact]
    public void A_missing_channel_is_a_clear_error()
    {
        var o = FeatureVisualization.options_for_0_255(fx.Model.MeanBgr, size: 32, iterations: 1);
        var e = Assert.Throws<ArgumentException>(() => FeatureVisualization.channel(fx.Model, "layer1", 64, o));
        Assert.Contains("channel 64", e.Message);
    }
}
