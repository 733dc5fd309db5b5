using InputGradients.Core;
using InputGradients.Layer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace InputGradients.Tests.Core;

/// <summary>
/// A model whose forward opens its own dispose scope (as FashionMnistNet does) must still work with the layer
/// methods: the captured layer output must outlive the model's forward.
/// </summary>
public class LayerTapsScopeTests
{
    /// <summary>output = Σ relu(2·x) per example (N×1); the layer "conv" is a 1×1 convolution with weight 2.</summary>
    sealed class ScopedNet : nn.Module<Tensor, Tensor>
    {
        readonly Conv2d conv;
        readonly ReLU relu;
        public ScopedNet() : base("ScopedNet")
        {
            conv = nn.Conv2d(1, 1, 1, bias: false);
            relu = nn.ReLU();
            RegisterComponents();
            using (torch.no_grad()) conv.weight!.fill_(2.0);
            eval();
        }
        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            return relu.call(conv.call(x)).reshape(x.shape[0], -1).sum(1, keepdim: true).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void Layer_output_and_gradient_survive_a_forward_with_its_own_dispose_scope()
    {
        var model = new ScopedNet();
        using var x = torch.tensor(new float[] { 1, -1, 3, -2 }).view(1, 1, 2, 2);
        using var scope = torch.NewDisposeScope();
        var (a, g, s) = LayerGradients.compute(model, x, "conv", Target.Class(0));
        // By hand: A = 2x; score = Σ relu(A) = 2 + 6 = 8; ∂score/∂A = 1 where A > 0, else 0.
        Assert.Equal(new float[] { 2, -2, 6, -4 }, a.data<float>().ToArray());
        Assert.Equal(new float[] { 1, 0, 1, 0 }, g.data<float>().ToArray());
        Assert.Equal(8f, s.item<float>());
        using var act = new LayerActivation(model, "conv").attribute_channels(x);
        Assert.Equal(new float[] { 2, -2, 6, -4 }, act.data<float>().ToArray());
    }

    [Fact]
    public void Captured_tensors_stay_in_the_callers_scope()
    {
        var model = new ScopedNet();
        using var x = torch.ones(1, 1, 2, 2);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (torch.NewDisposeScope()) {
            LayerGradients.compute(model, x, "conv", Target.Class(0));
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
