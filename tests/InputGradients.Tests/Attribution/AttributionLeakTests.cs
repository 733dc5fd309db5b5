using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Attribution;

/// <summary>Every attribution method returns one new live tensor and leaves nothing else alive (dispose-scope counts),
/// including the random generator of SmoothGrad.</summary>
public class AttributionLeakTests
{
    private static readonly Target Y = Target.Classes(1, 3);

    public static IEnumerable<object[]> Methods() => new[] {
        "saliency", "ig", "smoothgrad", "guided", "gradcam", "gradcam++", "layergradcam", "guidedgradcam", "layeractivation",
        "conductance", "channel target",
    }.Select(n => new object[] { n });

    private static Func<Tensor, Target, Tensor> Method(string name, nn.Module<Tensor, Tensor> model) => name switch {
        "saliency" => new Saliency(model).attribute,
        "ig" => new IntegratedGradients(model, new(4)).attribute,
        "smoothgrad" => new SmoothGrad(new Saliency(model)) { Samples = 3, Seed = 5 }.attribute,
        "guided" => new GuidedBackprop(model).attribute,
        "gradcam" => new GradCam(model, "block").attribute,
        "gradcam++" => new GradCamPlusPlus(model, "block").attribute,
        "layergradcam" => new LayerGradCam(model, "conv2").attribute,
        "guidedgradcam" => new GuidedGradCam(model, "conv2").attribute,
        "layeractivation" => new LayerActivation(model, "block.conv").attribute,
        "conductance" => new LayerConductance(model, "conv2") { Steps = 4 }.attribute,
        _ => (x, _) => new Saliency(model).attribute(x, Target.Channel("block", 1)),
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void One_new_tensor_per_call_and_nothing_else(string name)
    {
        var model = RefNet.Load();
        var attribute = Method(name, model);
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using (attribute(x, Y)) { }   // warm-up
        using var scope = torch.NewDisposeScope();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var r = attribute(x, Y);
        Assert.Equal(before + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        r.Dispose();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
