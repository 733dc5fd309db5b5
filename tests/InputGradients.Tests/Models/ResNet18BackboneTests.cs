using System.Diagnostics;
using InputGradients.Models.ImageNet;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace InputGradients.Tests.Models;

/// <summary>The TorchSharp ResNet-18 backbone against ONNX Runtime running the same .onnx file.</summary>
public sealed class ResNet18BackboneTests(BackboneFixture fx, ITestOutputHelper output) : IClassFixture<BackboneFixture>
{
    const double Tolerance = 1e-4;

    static readonly string[] Taps = { "stem.relu", "stem", "layer1.0.relu1", "layer1", "layer2.0.pre_relu", "layer2",
        "layer3.1.pre_relu", "layer3", "layer4.1", "layer4.pre_relu", "layer4" };

    void AgreesWithOrt(Tensor rgb, string what, bool withPool)
    {
        using var scope = torch.NewDisposeScope();
        var x = fx.Model.Preprocess(rgb);
        var taps = withPool ? Taps.Append("avgpool").ToArray() : Taps;
        var path = fx.Ort.WriteModel(taps.Select(t => OrtReference.GraphNames[t]), dropFinalPool: !withPool);
        var reference = OrtReference.Run(path, "Input247", x);
        Dictionary<string, Tensor> ours;
        using (torch.no_grad()) ours = fx.Model.forward_features(x, taps);
        foreach (var tap in taps)
        {
            var (abs, rel, maxRef) = OrtReference.Compare(ours[tap], reference[OrtReference.GraphNames[tap]]);
            output.WriteLine($"{what} {tap,-18} [{string.Join("x", ours[tap].shape)}] max|ref| {maxRef,9:G4}  max abs diff {abs:E2}  max rel diff {rel:E2}");
            Assert.True(abs <= Tolerance, $"{what} {tap}: max abs diff {abs:E3} > {Tolerance} (max |ref| {maxRef:G4})");
        }
    }

    [Fact]
    public void Random_batch_at_224_matches_onnx_runtime_at_every_stage_and_pooled()
    {
        using var scope = torch.NewDisposeScope();
        var g = new torch.Generator(1234);
        var rgb = torch.rand(new long[] { 2, 3, 224, 224 }, generator: g) * 255;
        AgreesWithOrt(rgb, "random 2x224x224", withPool: true);
    }

    [Fact]
    public void Photo_at_224_matches_onnx_runtime()
    {
        using var scope = torch.NewDisposeScope();
        var rgb = OrtReference.LoadImage(OrtReference.RepoFile("data", "images", "chelsea.png"), 224, 224);
        AgreesWithOrt(rgb, "chelsea 224x224", withPool: true);
    }

    [Fact]
    public void Photo_at_non_224_size_with_odd_stem_output_matches_onnx_runtime()
    {
        // 195 x 258: the stem gives 97 x 129 (odd), so the asymmetric max-pool pads matter; every stage
        // input after that is even, so the exported graph runs (layer4 is 6 x 8, too small for its 7x7 pool).
        using var scope = torch.NewDisposeScope();
        var rgb = OrtReference.LoadImage(OrtReference.RepoFile("data", "images", "chelsea.png"), 258, 195);
        AgreesWithOrt(rgb, "chelsea 195x258", withPool: false);
    }

    [Fact]
    public void Pooled_features_equal_forward_and_are_global_means_of_layer4()
    {
        using var scope = torch.NewDisposeScope();
        var x = fx.Model.Preprocess(torch.rand(new long[] { 1, 3, 160, 224 }, generator: new torch.Generator(7)) * 255);
        using var _ = torch.no_grad();
        var f = fx.Model.forward_features(x, "layer4", "avgpool");
        var pooled = fx.Model.forward(x);
        Assert.Equal(new long[] { 1, 512 }, pooled.shape);
        Assert.True(torch.allclose(pooled, f["avgpool"].flatten(1)));
        Assert.True(torch.allclose(pooled, f["layer4"].mean(new long[] { 2, 3 }), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Odd_stage_sizes_where_the_export_is_undefined_give_ceil_half_sizes()
    {
        // 233 x 265: layer3's input is 29 x 33; the exported graph's shortcut and main path disagree there
        // (ONNX Runtime rejects it), and this module pads so both halve to ceil(n/2).
        using var scope = torch.NewDisposeScope();
        var x = torch.zeros(1, 3, 233, 265);
        var ort = fx.Ort.WriteModel(new[] { "ReLU393_Output_0" }, dropFinalPool: true);
        Assert.ThrowsAny<Exception>(() => OrtReference.Run(ort, "Input247", x));
        using var _ = torch.no_grad();
        var f = fx.Model.forward_features(x, "stem", "layer2", "layer3", "layer4");
        Assert.Equal(new long[] { 1, 64, 58, 66 }, f["stem"].shape);
        Assert.Equal(new long[] { 1, 128, 29, 33 }, f["layer2"].shape);
        Assert.Equal(new long[] { 1, 256, 15, 17 }, f["layer3"].shape);
        Assert.Equal(new long[] { 1, 512, 8, 9 }, f["layer4"].shape);
    }

    [Fact]
    public void Structure_read_from_the_graph()
    {
        Assert.Equal(new[] { 2, 2, 2, 3 }, fx.Model.BlocksPerStage);
        Assert.Equal(new[] { 64, 128, 256, 512 }, fx.Model.StageChannels);
        var names = fx.Model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("stem.conv.conv.weight", names);
        Assert.Contains("layer4.2.conv2.conv.weight", names);
        Assert.Contains("layer2.0.downsample.0.conv.weight", names);
        long count = fx.Model.parameters().Sum(p => p.numel()) + fx.Model.named_buffers()
            .Where(b => b.name.EndsWith("running_mean") || b.name.EndsWith("running_var")).Sum(b => b.buffer.numel());
        output.WriteLine($"parameters + BN statistics: {count:N0}");
        Assert.InRange(count, 15_800_000, 16_000_000); // assets note: 15.9 M numbers in 110 initializers
        Assert.All(fx.Model.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(fx.Model.training);
    }

    [Fact]
    public void Preprocess_matches_the_preprocessing_graph()
    {
        // The graph subtracts a 224x224 mean image; we subtract its channel means. So
        // (graph(x) - graph(0)) must equal (ours(x) - ours(0)) exactly (channel order), and the channel
        // means of -graph(0) must equal our means.
        using var scope = torch.NewDisposeScope();
        var rgb = torch.rand(new long[] { 1, 3, 224, 224 }, generator: new torch.Generator(3)) * 255;
        var zero = torch.zeros(1, 3, 224, 224);
        var gx = OrtReference.Run(fx.Ort.PreprocessPath, "OriginalInput", rgb)["PreprocessedInput"];
        var g0 = OrtReference.Run(fx.Ort.PreprocessPath, "OriginalInput", zero)["PreprocessedInput"];
        var graphX = torch.tensor(gx.Data, gx.Shape);
        var graph0 = torch.tensor(g0.Data, g0.Shape);
        var ours = fx.Model.Preprocess(rgb) - fx.Model.Preprocess(zero);
        Assert.True(torch.allclose(ours, graphX - graph0, rtol: 0, atol: 1e-4));
        var graphMeans = (-graph0).mean(new long[] { 0, 2, 3 }).data<float>().ToArray();
        output.WriteLine($"channel means B,G,R: ours {string.Join(", ", fx.Model.MeanBgr)}; graph {string.Join(", ", graphMeans)}");
        for (int c = 0; c < 3; c++) Assert.Equal(graphMeans[c], fx.Model.MeanBgr[c], 1e-3);
        Assert.Equal(103.06, fx.Model.MeanBgr[0], 0.01);
        Assert.Equal(115.90, fx.Model.MeanBgr[1], 0.01);
        Assert.Equal(123.15, fx.Model.MeanBgr[2], 0.01);
        Assert.True(torch.allclose(fx.Model.Deprocess(fx.Model.Preprocess(rgb)), rgb, rtol: 0, atol: 1e-4));
    }

    [Fact]
    public void Taps_keep_the_autograd_graph_and_leak_no_tensors()
    {
        var x = fx.Model.Preprocess(torch.rand(new long[] { 1, 3, 64, 64 }, generator: new torch.Generator(5)) * 255)
            .requires_grad_(true);
        void Run()
        {
            using var scope = torch.NewDisposeScope();
            var f = fx.Model.forward_features(x, "layer3.1.pre_relu", "layer2");
            var grad = torch.autograd.grad(new[] { f["layer3.1.pre_relu"][0, 5].sum() }, new[] { x })[0];
            Assert.Equal(x.shape, grad.shape);
            Assert.True(grad.abs().sum().item<float>() > 0);
        }
        // The first call may fill the model's caches (folded batch norms, reordered weights: Runtime/DerivedTensors),
        // which live as long as the model; after it, a call must leave no tensor behind.
        Run();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Run();
        Run();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Throws<ArgumentException>(() => fx.Model.forward_features(x, "layer5"));
        x.Dispose();
    }

    [Fact]
    [Trait("Category", "Timing")]
    public void Forward_time_at_224_batch_1_side_by_side_with_onnx_runtime()
    {
        // Reports times without bounds (these machines are shared and timings vary) and checks the result. Runs are interleaved so the
        // ratio to ONNX Runtime (same file, same input, 2 threads) means more than either time alone.
        using var scope = torch.NewDisposeScope();
        var x = fx.Model.Preprocess(torch.rand(new long[] { 1, 3, 224, 224 }, generator: new torch.Generator(9)) * 255);
        using var session = OrtReference.Session(fx.Ort.ModelPath);
        using var _ = torch.no_grad();
        for (int i = 0; i < 2; i++) { using (torch.NewDisposeScope()) fx.Model.forward(x); OrtReference.Run(session, "Input247", x); }
        var ts = new List<double>(); var ort = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            var sw = Stopwatch.StartNew();
            using (torch.NewDisposeScope()) fx.Model.forward(x);
            ts.Add(sw.Elapsed.TotalSeconds);
            sw.Restart();
            OrtReference.Run(session, "Input247", x);
            ort.Add(sw.Elapsed.TotalSeconds);
        }
        ts.Sort(); ort.Sort();
        // The timed computations must agree too, so this test can fail for the right reason.
        var reference = OrtReference.Run(session, "Input247", x)["Pooling395_Output_0"];
        var (abs, _, _) = OrtReference.Compare(fx.Model.forward(x).reshape(1, 512, 1, 1), reference);
        Assert.True(abs <= Tolerance, $"timed forward differs from ONNX Runtime by {abs:E3}");
        output.WriteLine($"forward 1x3x224x224, no_grad, {torch.get_num_threads()} torch threads: TorchSharp median {ts[3]:F4} s (min {ts[0]:F4}); ONNX Runtime median {ort[3]:F4} s (min {ort[0]:F4}); load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)"}");
        var xg = x.clone().requires_grad_(true);
        var bt = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            using (torch.NewDisposeScope())
            using (torch.enable_grad())
                torch.autograd.grad(new[] { fx.Model.forward(xg).sum() }, new[] { xg });
            bt.Add(sw.Elapsed.TotalSeconds);
        }
        bt.Sort();
        output.WriteLine($"forward+backward to the input, batch 1: median {bt[1]:F4} s");
    }
}
