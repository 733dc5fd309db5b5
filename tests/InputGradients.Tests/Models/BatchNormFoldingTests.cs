using InputGradients.Models.ImageNet;
using InputGradients.Tests.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Models;

/// <summary>
/// The backbone folds its batch norms into the convolutions in eval mode. The folded network must give what the
/// unfolded one gives, forward and in the gradient to the input, and must follow parameters changed after loading
/// (the sanity checks randomise them). ONNX Runtime checks the folded forward independently (ResNet18BackboneTests).
/// </summary>
[Collection(nameof(ProcessWideBackend))] // FoldBatchNorm is process-wide
public sealed class BatchNormFoldingTests(BackboneFixture fx) : IClassFixture<BackboneFixture>
{
    static (Tensor Output, Tensor Grad) Run(ResNet18Backbone model, Tensor x, bool fold)
    {
        var before = ResNet18Backbone.FoldBatchNorm;
        ResNet18Backbone.FoldBatchNorm = fold;
        try
        {
            var input = x.detach().clone().requires_grad_(true);
            var taps = model.forward_features(input, "layer2", "layer4");
            var objective = taps["layer4"][.., 7].sum() + taps["layer2"].pow(2).mean();
            objective.backward();
            return (taps["layer4"].detach(), input.grad!.detach());
        }
        finally { ResNet18Backbone.FoldBatchNorm = before; }
    }

    static double RelativeError(Tensor a, Tensor b) =>
        (a - b).abs().max().item<float>() / Math.Max(b.abs().max().item<float>(), 1e-30);

    [Fact]
    public void Folded_and_unfolded_agree_forward_and_in_the_input_gradient()
    {
        using var scope = NewDisposeScope();
        var x = fx.Model.Preprocess(torch.rand(new long[] { 2, 3, 96, 96 }, generator: new torch.Generator(5)) * 255);
        var (y1, g1) = Run(fx.Model, x, fold: true);
        var (y0, g0) = Run(fx.Model, x, fold: false);
        Assert.True(RelativeError(y1, y0) < 1e-5, $"layer4 differs by {RelativeError(y1, y0):E2}");
        Assert.True(RelativeError(g1, g0) < 1e-4, $"input gradient differs by {RelativeError(g1, g0):E2}");
    }

    [Fact]
    public void A_batch_norm_changed_after_loading_is_seen_by_the_folded_network()
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        var x = model.Preprocess(torch.rand(new long[] { 1, 3, 64, 64 }, generator: new torch.Generator(6)) * 255);
        var (before, _) = Run(model, x, fold: true);
        var bn = model.named_modules().Where(m => m.module is TorchSharp.Modules.BatchNorm2d).ToList();
        Assert.True(bn.Count >= 20, $"{bn.Count} batch norms");
        using (no_grad())
            foreach (var (_, m) in bn)
            {
                var b = (TorchSharp.Modules.BatchNorm2d)m;
                b.weight!.mul_(1.5);
                b.running_mean!.add_(0.25);
            }
        var (folded, _) = Run(model, x, fold: true);
        var (unfolded, _) = Run(model, x, fold: false);
        Assert.True(RelativeError(folded, before) > 0.01, "changing every batch norm did not change the output");
        Assert.True(RelativeError(folded, unfolded) < 1e-5, $"folded {RelativeError(folded, unfolded):E2} from unfolded after the change");
    }

    /// <summary>
    /// Frozen parameters (as every workload runs them) take the cached folding (Runtime/DerivedTensors): a change to any
    /// one source (a convolution's weight, a batch norm's scale, shift, mean or variance), made in place after the
    /// first call, must still be seen, as must a parameter replaced by a new tensor.
    /// </summary>
    [Theory]
    [InlineData("conv weight")]
    [InlineData("bn weight")]
    [InlineData("bn bias")]
    [InlineData("running mean")]
    [InlineData("running var")]
    [InlineData("replaced conv weight")]
    public void With_frozen_parameters_a_change_to_any_one_source_is_seen(string source)
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        foreach (var p in model.parameters()) p.requires_grad = false;
        var x = model.Preprocess(torch.rand(new long[] { 1, 3, 64, 64 }, generator: new torch.Generator(7)) * 255);
        var (before, _) = Run(model, x, fold: true);
        var (again, _) = Run(model, x, fold: true);
        Assert.True(again.allclose(before, rtol: 0, atol: 0), "two calls on an unchanged model differ");

        // The stem's convolution and batch norm: every later layer sees the change.
        var stemConv = (TorchSharp.Modules.Conv2d)model.named_modules().First(m => m.module is TorchSharp.Modules.Conv2d).module;
        var stemBn = (TorchSharp.Modules.BatchNorm2d)model.named_modules().First(m => m.module is TorchSharp.Modules.BatchNorm2d).module;
        using (no_grad())
            switch (source)
            {
                case "conv weight": stemConv.weight!.mul_(1.5); break;
                case "bn weight": stemBn.weight!.mul_(1.5); break;
                case "bn bias": stemBn.bias!.add_(0.5); break;
                case "running mean": stemBn.running_mean!.add_(0.5); break;
                case "running var": stemBn.running_var!.mul_(3); break;
                case "replaced conv weight":
                    stemConv.weight = new TorchSharp.Modules.Parameter(stemConv.weight!.detach() * 1.5, requires_grad: false);
                    break;
            }
        var (folded, _) = Run(model, x, fold: true);
        var (unfolded, _) = Run(model, x, fold: false);
        Assert.True(RelativeError(folded, before) > 1e-3, $"changing the stem's {source} did not change the output");
        Assert.True(RelativeError(folded, unfolded) < 1e-5, $"folded {RelativeError(folded, unfolded):E2} from unfolded after changing the stem's {source}");
    }
}
