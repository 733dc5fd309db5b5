using System.Text.Json;
using InputGradients.Models.TorchVision;
using InputGradients.Serialization;
using InputGradients.Tests.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Models;

public class TorchVisionModelTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static Dictionary<string, long[]> PythonKeys(JsonElement keys) =>
        keys.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(x => x.GetInt64()).ToArray());

    private static void AssertSameNamesAndShapes(Dictionary<string, long[]> python, nn.Module model)
    {
        var ours = model.state_dict();
        Assert.Equal(python.Keys.Order(), ours.Keys.Order());
        foreach (var (k, shape) in python) Assert.True(shape.SequenceEqual(ours[k].shape), $"{k}: torchvision [{string.Join(",", shape)}], ours [{string.Join(",", ours[k].shape)}]");
    }

    [Fact]
    public void SqueezeNet1_1_has_torchvisions_names_and_shapes()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TorchVisionFixtures.File("squeezenet1_1.json")));
        using var model = SqueezeNet.SqueezeNet1_1();
        AssertSameNamesAndShapes(PythonKeys(doc.RootElement.GetProperty("keys")), model);
    }

    [Fact]
    public void ResNet18_has_torchvisions_names_and_shapes_including_num_batches_tracked()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TorchVisionFixtures.File("resnet18_keys.json")));
        using var model = ResNet.ResNet18();
        var keys = PythonKeys(doc.RootElement);
        Assert.Contains("layer2.0.downsample.1.num_batches_tracked", keys.Keys);
        AssertSameNamesAndShapes(keys, model);
    }

    private void AssertLogitsMatch(nn.Module<Tensor, Tensor> model, string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TorchVisionFixtures.File($"{name}.json")));
        AssertLogitsMatch(model, TorchVisionFixtures.Dir, doc.RootElement, name);
    }

    /// <summary>Logits at 224x224 and at an odd size (where ceil_mode and padding matter) within 1e-4 of PyTorch's.</summary>
    private void AssertLogitsMatch(nn.Module<Tensor, Tensor> model, string dir, JsonElement manifest, string name)
    {
        foreach (var prefix in new[] { "", "odd_" })
        {
            using var scope = torch.NewDisposeScope();
            long[] Shape(string key) => manifest.GetProperty(prefix + key).EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var suffix = prefix == "" ? "" : "_odd";
            var x = TorchVisionFixtures.ReadF32(Path.Combine(dir, $"{name}{suffix}_input.f32"), Shape("input_shape"));
            var expected = TorchVisionFixtures.ReadF32(Path.Combine(dir, $"{name}{suffix}_logits.f32"), Shape("logits_shape"));
            Tensor y;
            using (torch.no_grad()) y = model.call(x);
            Assert.Equal(expected.shape, y.shape);
            var maxDiff = (y - expected).abs().max().item<float>();
            var maxAbs = expected.abs().max().item<float>();
            output.WriteLine($"{name}{suffix} {string.Join("x", x.shape)}: max |logit - PyTorch| = {maxDiff:g3} (|logits| up to {maxAbs:g3})");
            Assert.True(maxDiff < 1e-4f, $"{name}{suffix}: max |logit difference| {maxDiff} (logits up to {maxAbs})");
            Assert.True(maxAbs > 0.1f); // not a trivially zero reference
        }
    }

    [Theory]
    [InlineData("squeezenet1_1.pth")]
    [InlineData("squeezenet1_1.safetensors")]
    public void SqueezeNet1_1_gives_PyTorchs_logits(string file)
    {
        using var model = SqueezeNet.SqueezeNet1_1();
        var report = Checkpoint.LoadStateDict(model, TorchVisionFixtures.File(file));
        Assert.Equal(52, report.Loaded.Count);
        TorchVisionModels.Freeze(model);
        AssertLogitsMatch(model, "squeezenet1_1");
    }

    [Fact]
    public void Pretrained_with_a_path_loads_frozen()
    {
        using var model = Pretrained.SqueezeNet1_1(weightsPath: TorchVisionFixtures.File("squeezenet1_1.pth"));
        Assert.False(model.training);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        AssertLogitsMatch(model, "squeezenet1_1");
    }

    [RequiresPythonTorchFact]
    public void ResNet18_gives_PyTorchs_logits_from_both_formats()
    {
        // 47 MB of weights: made here by the reference script rather than committed.
        using var dir = new TempDir();
        TorchVisionFixtures.RunScript($"--resnet18 --out \"{dir.Path}\"");
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("resnet18.json")));
        foreach (var file in new[] { "resnet18.pth", "resnet18.safetensors" })
        {
            using var model = Pretrained.ResNet18(weightsPath: dir.File(file));
            // The script randomised the batch-norm statistics, so these must have been read.
            Assert.NotEqual(0f, model.bn1.running_mean!.abs().sum().item<float>());
            Assert.NotEqual(0L, model.state_dict()["bn1.num_batches_tracked"].item<long>());
            AssertLogitsMatch(model, dir.Path, doc.RootElement, "resnet18");
        }
    }

    [Fact]
    public void Frozen_models_still_give_input_gradients()
    {
        using var scope = torch.NewDisposeScope();
        var model = TorchVisionModels.Freeze(SqueezeNet.SqueezeNet1_1());
        Checkpoint.LoadStateDict(model, TorchVisionFixtures.File("squeezenet1_1.safetensors"));
        var x = torch.randn(1, 3, 96, 96, generator: new Generator(3)).requires_grad_();
        var y = model.call(x);
        var g = torch.autograd.grad(new[] { y[0, 0] + y[0, 1] }, new[] { x })[0];
        Assert.True(g.abs().sum().item<float>() > 0);
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void The_last_fire_module_can_be_tapped_with_a_hook()
    {
        using var scope = torch.NewDisposeScope();
        var model = TorchVisionModels.Freeze(SqueezeNet.SqueezeNet1_1());
        long[]? seen = null;
        var fire = (Fire)model.features[12];
        var remover = fire.register_forward_hook((m, input, output) => { seen = output.shape; return output; });
        using (torch.no_grad()) model.call(torch.zeros(2, 3, 224, 224));
        remover.remove();
        Assert.Equal(new long[] { 2, 512, 13, 13 }, seen);
    }
}
