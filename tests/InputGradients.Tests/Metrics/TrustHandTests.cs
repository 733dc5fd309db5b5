using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using InputGradients.Metrics;
using InputGradients.Tests.Attribution;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Metrics;

/// <summary>Hand-computed values on tiny models, the restore of randomised weights, and bad input.</summary>
public class TrustHandTests
{
    private static double[] Values(Tensor t) => t.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();

    [Fact]
    public void Occlusion_of_sum_of_squares_is_the_windows_squared_mass()
    {
        var model = new SquareNet();
        using var x = torch.tensor(new double[] { 1, 2, 3, 4, 5, 6 }, dtype: ScalarType.Float64).reshape(1, 1, 2, 3);
        using var one = new Occlusion(model) { WindowHeight = 1, WindowWidth = 1, StrideHeight = 1, StrideWidth = 1 }.attribute(x, 0);
        Assert.Equal(new double[] { 1, 4, 9, 16, 25, 36 }, Values(one));
        // Windows at columns 0 and 1: {1,2,4,5} → 46, {2,3,5,6} → 74; the middle column is the mean of both.
        using var two = new Occlusion(model) { WindowHeight = 2, WindowWidth = 2, StrideHeight = 1, StrideWidth = 1 }.attribute(x, 0);
        Assert.Equal(new double[] { 46, 60, 74, 46, 60, 74 }, Values(two));
    }

    [Fact]
    public void Cam_variants_on_two_pixels()
    {
        // out = 2·relu(A₀) − 1·relu(A₁) with A = x = [3, 4]: ∂out/∂A = [2, −1].
        var model = new TwoPixelNet(2, -1);
        using var x = torch.tensor(new double[] { 3, 4 }, dtype: ScalarType.Float64).reshape(1, 1, 1, 2);
        using var hires = new HiResCam(model, "conv") { ReluAttributions = false }.attribute(x, 0);
        Assert.Equal(new double[] { 6, -4 }, Values(hires));
        using var layer = new LayerCam(model, "conv") { ReluAttributions = false }.attribute(x, 0);
        Assert.Equal(new double[] { 6, 0 }, Values(layer));
        using var grad = new GradCam(model, "conv").attribute(x, 0);      // mean gradient 0.5
        Assert.Equal(new double[] { 1.5, 2 }, Values(grad));
        // One channel: the softmax over channels is 1, so Score-CAM is relu(A).
        using var xn = torch.tensor(new double[] { 3, -4 }, dtype: ScalarType.Float64).reshape(1, 1, 1, 2);
        using var score = new ScoreCam(model, "conv").attribute(xn, 0);
        Assert.Equal(new double[] { 3, 0 }, Values(score));
    }

    [Fact]
    public void Deletion_curve_of_sum_of_squares_by_hand()
    {
        var model = new SquareNet();
        using var x = torch.tensor(new double[] { 1, 2, 3, 4 }, dtype: ScalarType.Float64).reshape(1, 1, 1, 4);
        using var map = torch.tensor(new double[] { 0.1, 0.4, 0.3, 0.2 }, dtype: ScalarType.Float64).reshape(1, 1, 4);
        var f = new Faithfulness(model) { PixelsPerStep = 1, Probability = false };
        var del = f.deletion(x, map, 0);
        Assert.Equal(new double[] { 30, 26, 17, 1, 0 }, del.Scores[0]);     // removes 2, 3, 4, 1
        Assert.Equal((74 - 15 - 0) / 4.0, del.Area[0], 12);
        var ins = f.insertion(x, map, 0, torch.zeros_like(x));
        Assert.Equal(new double[] { 0, 4, 13, 29, 30 }, ins.Scores[0]);
    }

    [Fact]
    public void Imputation_of_one_pixel_is_the_weighted_mean_of_its_neighbours()
    {
        // Centre of a 3×3 image: (1/6)(direct sum) + (1/12)(diagonal sum), the weights summing to 1.
        using var x = torch.tensor(new double[] { 1, 2, 3, 4, 100, 6, 7, 8, 9 }, dtype: ScalarType.Float64).reshape(1, 3, 3);
        var removed = new bool[9]; removed[4] = true;
        using var f = new NoisyLinearImputer { Noise = 0 }.impute(x, removed);
        Assert.Equal((2 + 4 + 6 + 8) / 6.0 + (1 + 3 + 7 + 9) / 12.0, f[0, 1, 1].item<double>(), 12);
        Assert.Equal(new double[] { 1, 2, 3, 4, 6, 7, 8, 9 }, Values(f).Where((_, i) => i != 4));
        // With noise: only the removed pixel moves.
        using var g = new NoisyLinearImputer { Noise = 0.5 }.impute(x, removed, new torch.Generator(3));
        var d = Values(g - f);
        Assert.NotEqual(0.0, d[4]);
        Assert.All(d.Where((_, i) => i != 4), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Spearman_and_ranks_by_hand()
    {
        Assert.Equal(0.8, Similarity.spearman(new double[] { 1, 2, 3, 4 }, new double[] { 10, 30, 20, 40 }), 12);
        Assert.Equal(new double[] { 1, 2.5, 2.5, 4 }, Similarity.ranks(new double[] { 1, 5, 5, 9 }));
        Assert.Equal(1.0, Similarity.spearman(new double[] { -3, 1, 2 }, new double[] { 3, 1, 2 }, absolute: true), 12);
        Assert.Equal(1.0, Similarity.ssim(Enumerable.Range(0, 64).Select(i => (double)i).ToArray(), Enumerable.Range(0, 64).Select(i => 2.0 * i + 1).ToArray(), 8, 8), 12);
    }

    [Fact]
    public void Hog_of_step_edges_by_hand()
    {
        // 8×8, left half 0, right half 1: only columns 3 and 4 have a gradient (g_col = 1, g_row = 0, angle 0°), so
        // each 4×4 cell holds 4/16 in bin 0. The one 2×2-cell block: 0.25/0.5 = 0.5, clipped to 0.2, renormalised to
        // 0.2/√(4·0.2²) = 0.5 (ε = 1e-5 changes it by ~3e-10).
        var vertical = Enumerable.Range(0, 64).Select(i => i % 8 >= 4 ? 1.0 : 0.0).ToArray();
        var h = Similarity.hog(vertical, 8, 8, cell: 4);
        Assert.Equal(36, h.Length);
        for (int k = 0; k < 36; k++) Assert.Equal(k % 9 == 0 ? 0.5 : 0.0, h[k], 9);
        // The same edge turned horizontal: angle 90°, bin 4 of [80°, 100°).
        var horizontal = Enumerable.Range(0, 64).Select(i => i / 8 >= 4 ? 1.0 : 0.0).ToArray();
        var g = Similarity.hog(horizontal, 8, 8, cell: 4);
        for (int k = 0; k < 36; k++) Assert.Equal(k % 9 == 4 ? 0.5 : 0.0, g[k], 9);
        // Each HOG is 0.5 on 4 of 36 entries, at disjoint places: the Pearson correlation of two such disjoint
        // indicators is −p/(1−p) with p = 4/36, i.e. −1/8.
        Assert.Equal(-(4.0 / 36) / (1 - 4.0 / 36), Similarity.hog_similarity(vertical, horizontal, 8, 8, cell: 4), 6);
        // Min-max scaling first: an affine change of a map leaves its HOG similarity to the original at 1.
        var rnd = new Random(5); var a = Enumerable.Range(0, 784).Select(_ => rnd.NextDouble()).ToArray();
        Assert.Equal(1.0, Similarity.hog_similarity(a, a.Select(v => 3 * v + 2).ToArray(), 28, 28), 12);
        Assert.Equal(4, Similarity.hog_cell(28, 28));
        Assert.Equal(8, Similarity.hog_cell(224, 224));
        var e = Assert.Throws<ArgumentException>(() => Similarity.hog(new double[36], 6, 6, cell: 4));
        Assert.Contains("fewer than one 2×2 block", e.Message);
    }

    [Fact]
    public void Data_randomisation_compares_the_two_models_maps()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var y = Target.Classes(Fixtures.Longs("target"));
        var saliency = new Saliency(model) { Abs = false };
        // The same model: every measure is 1. A model whose maps are the negation: signed ranks reverse (−1), the
        // absolute maps are the same (1).
        var same = SanityChecks.data_randomisation(saliency.attribute, saliency.attribute, x, y);
        Assert.Equal(new[] { "none", "random labels" }, same.Steps.Select(st => st.Randomized));
        foreach (var v in new[] { same.Steps[1].Spearman, same.Steps[1].SpearmanAbs, same.Steps[1].Ssim, same.Steps[1].Hog }.SelectMany(a => a))
            Assert.Equal(1.0, v, 12);
        var neg = SanityChecks.data_randomisation(saliency.attribute, (a, t) => -saliency.attribute(a, t), x, y);
        Assert.All(neg.Steps[1].Spearman, v => Assert.Equal(-1.0, v, 12));
        Assert.All(neg.Steps[1].SpearmanAbs, v => Assert.Equal(1.0, v, 12));
        Assert.All(neg.Steps[1].Ssim, v => Assert.Equal(1.0, v, 12));
        Assert.Equal(neg.Steps[0].Maps[1].Select(v => -v), neg.Steps[1].Maps[1]);
    }

    [Fact]
    public void Faithfulness_of_a_layer_score_is_its_raw_value_by_hand()
    {
        // Layer "square" outputs x² (1×1×1×4); Target.Channel("square", 0) is its mean. Probability stays at its
        // default (true) but applies to class targets only: the curves are raw means of squares.
        var model = nn.Sequential(("square", new Squarer()), ("flat", nn.Flatten()), ("fc", nn.Linear(4, 3, dtype: ScalarType.Float64)));
        using var x = torch.tensor(new double[] { 2, 0, 1, 3 }, dtype: ScalarType.Float64).reshape(1, 1, 1, 4);
        using var map = torch.tensor(new double[] { 0.1, 0.4, 0.3, 0.2 }, dtype: ScalarType.Float64).reshape(1, 1, 4);
        var target = Target.Channel("square", 0);
        var f = new Faithfulness(model) { PixelsPerStep = 1, RoadFractions = new[] { 0.25, 0.5 }, RoadNoise = 0 };
        // Squares 4, 0, 1, 9 removed in the map's order (pixels 1, 2, 3, 0).
        Assert.Equal(new[] { 14 / 4.0, 14 / 4.0, 13 / 4.0, 4 / 4.0, 0 }, f.deletion(x, map, target).Scores[0]);
        Assert.Equal(new[] { 0, 0, 1 / 4.0, 10 / 4.0, 14 / 4.0 }, f.insertion(x, map, target, torch.zeros_like(x)).Scores[0]);
        // ROAD MoRF: pixel 1 imputed as (2 + 1)/2; then pixels 1, 2 solve u1 = (2 + u2)/2, u2 = (u1 + 3)/2: 7/3, 8/3.
        // LeRF: pixel 0 takes its one neighbour (0); then pixel 3 takes pixel 2's value (1).
        var road = f.road(x, map, target);
        Assert.Equal(new[] { (4 + 2.25 + 1 + 9) / 4, (4 + 49 / 9.0 + 64 / 9.0 + 9) / 4 }, road.MoRF[0], new Tol(1e-12));
        Assert.Equal(new[] { 10 / 4.0, 2 / 4.0 }, road.LeRF[0], new Tol(1e-12));
    }

    private sealed class Tol(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(double v) => 0;
    }

    private sealed class Squarer() : nn.Module<Tensor, Tensor>("Squarer")
    {
        public override Tensor forward(Tensor x) => x.pow(2);
    }

    private static List<byte[]> Bytes(nn.Module m) =>
        m.parameters().Select(p => { var t = p.detach().contiguous(); return t.bytes.ToArray(); }).ToList();

    [Fact]
    public void Randomisation_restores_the_weights_bit_for_bit_even_when_the_method_throws()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var y = Target.Classes(Fixtures.Longs("target"));
        var before = Bytes(model);
        var checks = new SanityChecks(model) { Seed = 4 };
        var layers = checks.layers_top_down(x);
        Assert.Equal(new[] { "fc", "block.conv", "conv2", "conv1" }, layers);
        var saliency = new Saliency(model);
        var r = checks.cascading(saliency.attribute, x, y, layers);
        Assert.Equal(before, Bytes(model));
        Assert.Equal(5, r.Steps.Count);
        Assert.All(r.Steps[0].Spearman, v => Assert.Equal(1.0, v, 12));
        // Randomising the weights changes the gradient: the last cascading step is no longer the original map.
        Assert.All(r.Steps[^1].Spearman, v => Assert.True(v < 0.99, $"spearman {v}"));

        var ind = checks.independent(saliency.attribute, x, y, layers);
        Assert.Equal(before, Bytes(model));
        // The first step randomises the same layer from the same seed in both modes.
        Assert.Equal(r.Steps[1].Spearman, ind.Steps[1].Spearman);

        int calls = 0;
        Assert.Throws<InvalidOperationException>(() => checks.cascading((a, t) => ++calls == 3 ? throw new InvalidOperationException("boom") : saliency.attribute(a, t), x, y, layers));
        Assert.Equal(before, Bytes(model));
    }

    [Fact]
    public void Bad_input_gets_one_clear_line()
    {
        var model = RefNet.Load();
        using var x = torch.zeros(1, 3, 8, 8, dtype: ScalarType.Float64);
        var e1 = Assert.Throws<ArgumentException>(() => new Faithfulness(model).deletion(x, torch.zeros(1, 7, 8), 0));
        Assert.Contains("do not match inputs", e1.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Occlusion(model) { WindowHeight = 9 }.attribute(x, 0));
        var e2 = Assert.Throws<ArgumentException>(() => new SanityChecks(model).cascading(new Saliency(model).attribute, x, 0, new[] { "nope" }));
        Assert.Contains("no submodule named 'nope'", e2.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Faithfulness(model) { RoadFractions = new[] { 1.0 } }.road(x, torch.zeros(1, 8, 8), 0));
    }

    [Fact]
    public void Methods_and_metrics_leave_no_tensors_behind()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var y = Target.Classes(Fixtures.Longs("target"));
        using var m = PixelMaps.random_map(2, 8, 8, 1);
        var f = new Faithfulness(model) { PixelsPerStep = 16, RoadFractions = new[] { 0.5 } };
        var checks = new SanityChecks(model);
        var methods = new (Func<Tensor?> run, int returned)[] {
            (() => new ScoreCam(model, "block").attribute(x, y), 1),
            (() => new LayerCam(model, "block").attribute(x, y), 1),
            (() => new Occlusion(model) { WindowHeight = 4, WindowWidth = 4 }.attribute(x, y), 1),
            (() => { f.deletion(x, m, y); f.insertion(x, m, y); f.road(x, m, y); return null; }, 0),
            (() => { checks.cascading(new Saliency(model).attribute, x, y, checks.layers_top_down(x)); return null; }, 0),
        };
        for (int i = 0; i < methods.Length; i++) {
            var (run, returned) = methods[i];
            run()?.Dispose();   // warm-up
            using var scope = torch.NewDisposeScope();
            var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            run();
            Assert.True(before + returned == DisposeScopeManager.Statistics.ThreadTotalLiveCount, $"method {i}: {DisposeScopeManager.Statistics.ThreadTotalLiveCount - before} live tensors, expected {returned}");
        }
    }
}
