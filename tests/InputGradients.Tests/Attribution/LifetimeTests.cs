using System.Collections;
using System.Reflection;
using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace InputGradients.Tests.Attribution;

/// <summary>Batching, hook removal, model and input state: every method leaves things as it found them.</summary>
public class LifetimeTests
{
    private static readonly Target Y = Target.Classes(1, 3);

    public static IEnumerable<object[]> Methods() => new[] {
        new object[] { "saliency" }, new object[] { "ig" }, new object[] { "smoothgrad" }, new object[] { "guided" },
        new object[] { "gradcam" }, new object[] { "guidedgradcam" }, new object[] { "layeractivation" },
        new object[] { "conductance" }, new object[] { "gradcam_channel_target" },
    };

    private static Func<Tensor, Target, Tensor> Method(string name, nn.Module<Tensor, Tensor> model) => name switch {
        "saliency" => new Saliency(model).attribute,
        "ig" => new IntegratedGradients(model, new(8)).attribute,
        "smoothgrad" => new SmoothGrad(new Saliency(model)) { Samples = 3, Seed = 5 }.attribute,
        "guided" => new GuidedBackprop(model).attribute,
        "gradcam" => new GradCam(model, "block").attribute,
        "guidedgradcam" => new GuidedGradCam(model, "conv2").attribute,
        "layeractivation" => new LayerActivation(model, "block.conv").attribute,
        "conductance" => new LayerConductance(model, "conv2") { Steps = 6 }.attribute,
        "gradcam_channel_target" => (x, _) => new GradCam(model, "conv2").attribute(x, Target.Channel("block", 1)),
        _ => throw new ArgumentException(name),
    };

    private static int PostHooks(nn.Module m)
    {
        // TorchSharp keeps hooks in protected dictionaries: count them by reflection.
        int n = 0;
        for (var t = m.GetType(); t is not null; t = t.BaseType) {
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (f.Name is "post_hooks" or "pre_hooks" or "module_post_hooks" or "module_pre_hooks" && f.GetValue(m) is ICollection c) n += c.Count;
        }
        return n;
    }

    private static int AllHooks(nn.Module model) => PostHooks(model) + model.named_modules().Sum(m => PostHooks(m.module));

    [Theory]
    [MemberData(nameof(Methods))]
    public void Batched_equals_one_at_a_time(string name)
    {
        var model = RefNet.Load();
        var attribute = Method(name, model);
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using var both = attribute(x, Y);
        for (int i = 0; i < 2; i++) {
            using var xi = x.narrow(0, i, 1);
            using var one = attribute(xi, Target.Classes(Fixtures.Longs("target")[i]));
            using var part = both.narrow(0, i, 1);
            Assert.True(one.allclose(part, rtol: 1e-9, atol: 1e-12), $"{name}: example {i} differs when batched");
        }
    }

    [Fact]
    public void InternalBatchSize_gives_the_unbatched_result()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using var all = new IntegratedGradients(model, new(7)).attribute_with_delta(x, Y);
        foreach (var b in new[] { 1, 3, 5, 14, 100 }) {
            using var part = new IntegratedGradients(model, new(7, InternalBatchSize: b)).attribute_with_delta(x, Y);
            Assert.True(all.Attributions.allclose(part.Attributions, rtol: 1e-10, atol: 1e-14), $"InternalBatchSize {b}");
            Assert.True(all.ConvergenceDelta.allclose(part.ConvergenceDelta, rtol: 1e-8, atol: 1e-12), $"delta, InternalBatchSize {b}");
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Model_input_and_hooks_are_left_as_found(string name)
    {
        var model = RefNet.Load();
        model.train();                                              // a mode the methods must not change
        var ps = model.parameters().ToArray();
        ps[0].requires_grad = false;                                // a mixed pattern to restore
        var flags = ps.Select(p => p.requires_grad).ToArray();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using var before = x.clone();
        using var out_before = model.call(x);
        int live = HookScope.LiveHooks;

        using (var a = Method(name, model)(x, Y)) { }

        Assert.True(model.training);
        Assert.Equal(flags, model.parameters().Select(p => p.requires_grad).ToArray());
        Assert.All(model.parameters(), p => Assert.True(p.grad is null, "a parameter gradient was accumulated"));
        Assert.False(x.requires_grad);
        Assert.True(x.eq(before).all().item<bool>());
        Assert.Equal(0, AllHooks(model));
        Assert.Equal(live, HookScope.LiveHooks);
        Assert.True(((ReLU)model.named_modules().First(m => m.name == "relu2").module).inplace);
        using var out_after = model.call(x);
        Assert.True(out_before.eq(out_after).all().item<bool>());
    }

    [Fact]
    public void BatchNorm_statistics_survive_attribution_in_training_mode()
    {
        var model = nn.Sequential(("conv", nn.Conv2d(3, 4, 3)), ("bn", nn.BatchNorm2d(4)), ("relu", nn.ReLU()), ("flat", nn.Flatten()), ("fc", nn.Linear(4 * 6 * 6, 3)));
        model.train();
        var bn = (BatchNorm2d)model.named_modules().First(m => m.name == "bn").module;
        using var mean = bn.running_mean!.clone();
        using var x = torch.randn(2, 3, 8, 8);
        using (var a = new Saliency(model).attribute(x, 0)) { }
        using (var b = new IntegratedGradients(model, new(4)).attribute(x, 0)) { }
        using (var c = new GradCam(model, "bn").attribute(x, 0)) { }
        Assert.True(bn.running_mean!.eq(mean).all().item<bool>(), "running_mean changed");
        Assert.Equal(0, bn.num_batches_tracked!.item<long>());
        Assert.True(model.training);
        using (torch.no_grad()) model.call(x).Dispose();   // and without the guard it would change
        Assert.False(bn.running_mean!.eq(mean).all().item<bool>());
    }

    [Fact]
    public void Label_tensors_make_per_example_targets()
    {
        using var labels = torch.tensor(new long[] { 1, 3 });
        Assert.Equal(new long[] { 1, 3 }, ((Target.PerExample)Target.Classes(labels)).Indices);
        using var bad = torch.tensor(new[] { 1.0f });
        Assert.Throws<ArgumentException>(() => Target.Classes(bad));
    }

    [Fact]
    public void Input_requires_grad_is_kept_when_set()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 }).requires_grad_(true);
        using var a = new Saliency(model).attribute(x, Y);
        Assert.True(x.requires_grad);
        Assert.True(x.grad is null);
    }

    [Fact]
    public void Hooks_are_removed_after_an_error()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var bad = Target.Class(99);   // out of range: throws after the hooks were registered
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradCam(model, "block").attribute(x, bad));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GuidedBackprop(model).attribute(x, bad));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerConductance(model, "conv2") { Steps = 2 }.attribute(x, bad));
        // The model itself throws (4 channels for a 3-channel conv) while hooks are in place.
        using var wrong = torch.zeros(2, 4, 8, 8, dtype: ScalarType.Float64);
        Assert.ThrowsAny<Exception>(() => new GradCam(model, "block").attribute(wrong, Y));
        Assert.ThrowsAny<Exception>(() => new GuidedBackprop(model).attribute(wrong, Y));
        Assert.Equal(0, AllHooks(model));
        Assert.Equal(0, HookScope.LiveHooks);
        Assert.True(((ReLU)model.named_modules().First(m => m.name == "relu2").module).inplace);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        // Behaviourally: plain gradients are unguided again (they differ from guided backprop's in sign somewhere).
        using var g = new Saliency(model) { Abs = false }.attribute(x, Y);
        ReferenceTests.AssertClose(Fixtures.Doubles("gradient"), g, 1e-9, "gradient after errors");
    }

    [Fact]
    public void Hooks_that_never_fire_are_reported()
    {
        var model = new ForwardCallingNet();
        using var x = torch.randn(1, 1, 4, 4);
        var e = Assert.Throws<InvalidOperationException>(() => new GradCam(model, "conv").attribute(x, 0));
        Assert.Contains("never fired", e.Message);
        Assert.Contains(".forward(", e.Message);
        var e2 = Assert.Throws<InvalidOperationException>(() => new GuidedBackprop(model).attribute(x, 0));
        Assert.Contains("'relu'", e2.Message);
        var lenient = new GuidedBackprop(model) { Strict = false };
        using var g = lenient.attribute(x, 0);
        Assert.Single(lenient.LastWarnings);
        Assert.Equal(0, AllHooks(model));
    }

    [Fact]
    public void Functional_relu_without_modules_is_refused()
    {
        var model = new FunctionalReluNet();
        using var x = torch.randn(2, 4);
        var e = Assert.Throws<InvalidOperationException>(() => new GuidedBackprop(model).attribute(x, 0));
        Assert.Contains("functional relu", e.Message);
    }

    [Fact]
    public void Unknown_layer_names_list_the_available_ones()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var e = Assert.Throws<ArgumentException>(() => new GradCam(model, "features.12").attribute(x, Y));
        Assert.Contains("block.conv", e.Message);
    }

    [Fact]
    public void No_tensors_leak_from_a_call()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var methods = new Func<Tensor, Target, Tensor>[] {
            new Saliency(model).attribute, new IntegratedGradients(model, new(4)).attribute, new GradCam(model, "block").attribute,
            new GuidedBackprop(model).attribute,
        };
        foreach (var m in methods) {
            using var warm = m(x, Y);
            using var scope = torch.NewDisposeScope();
            var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var r = m(x, Y);   // registered in this scope: the only new live tensor
            Assert.Equal(before + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
    }
}
