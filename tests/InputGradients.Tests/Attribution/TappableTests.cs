using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace InputGradients.Tests.Attribution;

/// <summary>RefNet's weights behind an <see cref="ITappable"/> interface; its forward calls children's .forward(),
/// so hooks could never see its layers: only the tap path can work.</summary>
public sealed class TappableRefNet : Module<Tensor, Tensor>, ITappable
{
    private readonly Conv2d conv1, conv2;
    private readonly RefBlock block;
    private readonly Linear fc;

    public TappableRefNet() : base("TappableRefNet")
    {
        conv1 = Conv2d(3, 4, 3, padding: 1);
        conv2 = Conv2d(4, 6, 3, padding: 1);
        block = new RefBlock(6);
        fc = Linear(96, 5);
        RegisterComponents();
        Fixtures.load_raw_weights(this, Path.Combine(Fixtures.Dir, "refnet.weights.json"), Path.Combine(Fixtures.Dir, "refnet.weights.bin"));
        this.to(ScalarType.Float64);
        eval();
    }

    public IReadOnlyList<string> TapNames { get; } = new[] { "conv2", "block" };

    public Dictionary<string, Tensor> forward_features(Tensor x, params string[] names)
    {
        var taps = new Dictionary<string, Tensor>();
        var h = functional.max_pool2d(functional.relu(conv1.forward(x)), 2);
        var c2 = conv2.forward(h);
        taps["conv2"] = c2;
        var b = block.forward(functional.relu(c2));
        taps["block"] = b;
        taps[ITappable.Output] = fc.forward(b.flatten(1));
        return names.ToDictionary(n => n, n => taps.TryGetValue(n, out var t) ? t : throw new ArgumentException($"no tap '{n}'"));
    }

    public override Tensor forward(Tensor x) => forward_features(x, ITappable.Output)[ITappable.Output];
}

public class TappableTests
{
    [Theory]
    [InlineData("conv2")]
    [InlineData("block")]
    public void GradCam_through_taps_matches_pytorch_without_hooks(string layer)
    {
        var model = new TappableRefNet();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using var cam = new GradCam(model, layer).attribute(x, Target.Classes(Fixtures.Longs("target")));
        ReferenceTests.AssertClose(Fixtures.Doubles($"gradcam_{layer}_small"), cam, 1e-9, "CAM via taps");
    }

    [Fact]
    public void Layer_targets_through_taps_equal_layer_targets_through_hooks()
    {
        var tapped = new TappableRefNet();
        var hooked = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var t = Target.Channel("block", 3);
        using var a = new Saliency(tapped) { Abs = false }.attribute(x, t);
        using var b = new Saliency(hooked) { Abs = false }.attribute(x, t);
        Assert.True(a.allclose(b, rtol: 1e-10, atol: 1e-14));
        using var c = new LayerConductance(tapped, "conv2") { Steps = 20 }.attribute_channels(x, Target.Classes(Fixtures.Longs("target")));
        ReferenceTests.AssertClose(Fixtures.Doubles("conductance_conv2_20"), c, 1e-9, "conductance via taps");
    }
}
