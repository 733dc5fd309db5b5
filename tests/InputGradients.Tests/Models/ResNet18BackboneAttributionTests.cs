using InputGradients.Attribution;
using InputGradients.Core;
using static TorchSharp.torch;

namespace InputGradients.Tests.Models;

/// <summary>The backbone works with the attribution methods: taps without hooks, and ReLU modules guided backprop can reach.</summary>
public sealed class ResNet18BackboneAttributionTests(BackboneFixture fx) : IClassFixture<BackboneFixture>
{
    [Fact]
    public void Output_tap_is_the_forward_output()
    {
        manual_seed(3);
        var x = randn(1, 3, 64, 64) * 50;
        using var _ = no_grad();
        var taps = fx.Model.forward_features(x, ITappable.Output, "layer2");
        Assert.Equal(new long[] { 1, 512 }, taps[ITappable.Output].shape);
        Assert.True(taps[ITappable.Output].allclose(fx.Model.forward(x)));
        Assert.Equal(new long[] { 1, 128, 8, 8 }, taps["layer2"].shape);
        Assert.False(taps.ContainsKey("avgpool"));
    }

    [Fact]
    public void Guided_backprop_reaches_every_relu_of_the_backbone()
    {
        manual_seed(4);
        var x = randn(1, 3, 64, 64) * 50;
        long channel;
        using (no_grad()) channel = fx.Model.forward_features(x, "layer4")["layer4"].mean([0, 2, 3]).argmax().item<long>();
        var target = Target.Channel("layer4", channel); // the most active channel, so the gradient is not zero
        var guided = new GuidedBackprop(fx.Model);
        var map = guided.attribute(x, target);
        // The stem and two ReLUs in each of the 9 blocks.
        Assert.Equal(19, guided.GuidedRelus.Count);
        Assert.Empty(guided.LastWarnings);
        Assert.Equal(x.shape, map.shape);
        var plain = new Saliency(fx.Model) { Abs = false }.attribute(x, target);
        var relative = ((map - plain).norm() / plain.norm()).item<float>();
        Assert.True(relative > 0.1, $"guided backprop is within {relative:P1} of the plain gradient: the ReLUs were not guided");
    }

    [Fact]
    public void A_layer_target_before_the_end_guides_the_relus_that_ran_and_warns_about_the_rest()
    {
        manual_seed(5);
        var x = randn(1, 3, 64, 64) * 50;
        var guided = new GuidedBackprop(fx.Model);
        guided.attribute(x, Target.Channel("layer3", 7));
        Assert.Equal(1 + 2 * 6, guided.GuidedRelus.Count); // stem, layer1..layer3
        Assert.Equal(6, guided.LastWarnings.Count);          // layer4's three blocks never ran
    }

    [Fact]
    public void A_tap_and_a_submodule_can_be_read_in_one_pass()
    {
        manual_seed(6);
        var x = randn(1, 3, 64, 64) * 50;
        using var _ = no_grad();
        var (output, layers) = LayerTaps.run(fx.Model, x, false, "layer4.1.pre_relu", "layer4.1.conv2", "stem.relu");
        Assert.Null(output);
        Assert.Equal(new long[] { 1, 512, 2, 2 }, layers["layer4.1.pre_relu"].shape);
        Assert.Equal(new long[] { 1, 512, 2, 2 }, layers["layer4.1.conv2"].shape); // a hooked submodule (PaddedConv)
        Assert.Equal(new long[] { 1, 64, 32, 32 }, layers["stem.relu"].shape);
        // The hooked conv output really is the one in that pass: its BatchNorm plus the block input gives pre_relu.
        // (The hooked pass runs that batch norm unfolded, the direct one folded: equal within float32 rounding.)
        var direct = fx.Model.forward_features(x, "layer4.1.pre_relu")["layer4.1.pre_relu"];
        double scale = direct.abs().max().item<float>();
        Assert.True(layers["layer4.1.pre_relu"].allclose(direct, rtol: 1e-5, atol: 1e-5 * scale));
    }

    [Fact]
    public void Grad_cam_on_a_submodule_with_a_channel_target_of_a_tap()
    {
        manual_seed(7);
        var x = randn(2, 3, 64, 64) * 50;
        var map = new InputGradients.Layer.GradCam(fx.Model, "layer4.1.conv2").attribute(x, Target.Channel("layer4", 5));
        Assert.Equal(new long[] { 2, 1, 2, 2 }, map.shape);
    }

    [Fact]
    public void A_target_that_does_not_depend_on_the_layer_is_a_clear_error_and_the_process_lives()
    {
        // layer2's channel is computed before layer4: there is no gradient of it at layer4. libtorch's refusal of an
        // unused input escapes TorchSharp's autograd.grad as a native abort, so the library must ask without it.
        manual_seed(8);
        var x = randn(1, 3, 64, 64) * 50;
        var e = Assert.Throws<InvalidOperationException>(() => new InputGradients.Layer.GradCam(fx.Model, "layer4").attribute(x, Target.Channel("layer2", 5)));
        Assert.Contains("does not depend on layer 'layer4'", e.Message);
    }
}
