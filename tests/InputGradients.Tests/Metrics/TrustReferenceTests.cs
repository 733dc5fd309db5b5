using System.Text.Json;
using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using InputGradients.Metrics;
using InputGradients.Tests.Attribution;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Metrics;

/// <summary>Against tests/reference/trust_reference.py: the papers' definitions in plain PyTorch/numpy on RefNet's
/// weights and input (fixtures/attribution), float64 on both sides.</summary>
public class TrustReferenceTests
{
    private const double Tol = 1e-9;
    private static readonly long[] Shape = { 2, 3, 8, 8 };

    private static JsonElement? reference;
    private static JsonElement Ref => reference ??= JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("trust", "reference.json"))).RootElement;
    private static double[] D(string key) => Ref.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();
    private static double[][] Rows(string key) => Ref.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
    private static Tensor T(string key, params long[] shape) => torch.tensor(D(key), dtype: ScalarType.Float64).reshape(shape);

    private static (RefNet model, Tensor x, Target y) Setup() =>
        (RefNet.Load(), Fixtures.Tensor("input", Shape), Target.Classes(Fixtures.Longs("target")));

    private static void Close(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData("conv2")]
    [InlineData("block")]
    public void Cam_variants_match_pytorch(string layer)
    {
        var (model, x, y) = Setup();
        using var lc = new LayerCam(model, layer).attribute(x, y);
        using var hr = new HiResCam(model, layer).attribute(x, y);
        using var sc = new ScoreCam(model, layer) { BatchSize = 4 }.attribute(x, y);
        Assert.Equal(new long[] { 2, 1, 4, 4 }, lc.shape);
        ReferenceTests.AssertClose(D($"layercam_{layer}"), lc, Tol, "LayerCAM");
        ReferenceTests.AssertClose(D($"hirescam_{layer}"), hr, Tol, "HiResCAM");
        ReferenceTests.AssertClose(D($"scorecam_{layer}"), sc, Tol, "Score-CAM");
        // The maps are not all alike, so the comparison can tell the variants apart.
        using var gc = new GradCam(model, layer).attribute(x, y);
        Assert.False(torch.allclose(lc, gc, 1e-3, 1e-6) && torch.allclose(hr, gc, 1e-3, 1e-6) && torch.allclose(sc, gc, 1e-3, 1e-6));
    }

    [Fact]
    public void Occlusion_matches_pytorch()
    {
        var (model, x, y) = Setup();
        using var a = new Occlusion(model) { WindowHeight = 3, WindowWidth = 3, StrideHeight = 2, StrideWidth = 2, BatchSize = 5 }.attribute(x, y);
        ReferenceTests.AssertClose(D("occlusion_3x3_s2_b0"), a, Tol, "occlusion 3x3/2");
        using var b = new Occlusion(model) { WindowHeight = 2, WindowWidth = 4, StrideHeight = 1, StrideWidth = 3, Baseline = 0.5 }.attribute(x, y);
        ReferenceTests.AssertClose(D("occlusion_2x4_s1x3_b05"), b, Tol, "occlusion 2x4/(1,3), baseline 0.5");
    }

    [Fact]
    public void Deletion_and_insertion_match_the_rise_definition()
    {
        var (model, x, y) = Setup();
        using var maps = T("maps", 2, 8, 8);
        var f = new Faithfulness(model) { PixelsPerStep = 5, BatchSize = 4 };
        var del = f.deletion(x, maps, y);
        var ins = f.insertion(x, maps, y);
        var dr = Rows("deletion_5"); var ir = Rows("insertion_5");
        Assert.Equal(14, del.Fractions.Length);   // ceil(64/5) = 13 steps, last one partial
        for (int i = 0; i < 2; i++) {
            Close(dr[i], del.Scores[i], Tol, $"deletion[{i}]");
            Close(ir[i], ins.Scores[i], Tol, $"insertion[{i}]");
        }
        Close(D("deletion_5_auc"), del.Area, Tol, "deletion AUC");
        Close(D("insertion_5_auc"), ins.Area, Tol, "insertion AUC");
        using var blur = Faithfulness.gaussian_blur(x, 11, 5.0);
        ReferenceTests.AssertClose(D("blur_11_5"), blur, 1e-12, "blur");
    }

    [Fact]
    public void Linear_imputation_matches_a_dense_solve()
    {
        var (_, x, _) = Setup();
        var removed = Ref.GetProperty("impute_removed").EnumerateArray().Select(e => e.GetBoolean()).ToArray();
        using var filled = new NoisyLinearImputer { Noise = 0 }.impute(x[0], removed);
        ReferenceTests.AssertClose(D("impute_example0"), filled, 1e-9, "imputed");
    }

    [Fact]
    public void Road_without_noise_matches_pytorch()
    {
        var (model, x, y) = Setup();
        using var maps = T("maps", 2, 8, 8);
        var r = new Faithfulness(model) { RoadNoise = 0 }.road(x, maps, y);
        var m = Rows("road_morf"); var l = Rows("road_lerf");
        for (int i = 0; i < 2; i++) {
            Close(m[i], r.MoRF[i], 1e-8, $"MoRF[{i}]");
            Close(l[i], r.LeRF[i], 1e-8, $"LeRF[{i}]");
        }
    }

    [Fact]
    public void Similarity_measures_match_numpy()
    {
        var maps = D("maps"); var other = D("other");
        var expected = D("spearman"); var ssim = D("ssim_8x8");
        for (int i = 0; i < 2; i++) {
            var a = maps[(i * 64)..((i + 1) * 64)]; var b = other[(i * 64)..((i + 1) * 64)];
            Assert.Equal(expected[i], Similarity.spearman(a, b), 12);
            Assert.Equal(ssim[i], Similarity.ssim(a, b, 8, 8), 12);
        }
        var a0 = maps[..64].Select(v => v - 0.5).ToArray(); var b0 = other[..64].Select(v => v - 0.5).ToArray();
        Assert.Equal(Ref.GetProperty("spearman_abs_signed").GetDouble(), Similarity.spearman(a0, b0, absolute: true), 12);
        Assert.Equal(Ref.GetProperty("ssim_10x12").GetDouble(), Similarity.ssim(D("ssim_a"), D("ssim_b"), 10, 12), 12);
    }

    [Fact]
    public void Hog_matches_numpy()
    {
        Close(D("hog_a_cell4"), Similarity.hog(D("hog_a"), 28, 28, cell: 4), Tol, "hog 28×28 cell 4");
        // 20×27 with cell 5 and blocks of 3: the last 2 columns are dropped, 4×5 cells, 2×3 blocks.
        Close(D("hog_c_cell5_block3"), Similarity.hog(D("hog_c"), 20, 27, cell: 5, block: 3), Tol, "hog 20×27 cell 5 block 3");
        Assert.Equal(Ref.GetProperty("hog_similarity_ab_cell4").GetDouble(), Similarity.hog_similarity(D("hog_a"), D("hog_b"), 28, 28), 9);
        Assert.Equal(Ref.GetProperty("hog_similarity_cd_cell5_block3").GetDouble(), Similarity.hog_similarity(D("hog_c"), D("hog_d"), 20, 27, cell: 5, block: 3), 9);
    }

    [Fact]
    public void Sobel_baseline_matches_numpy()
    {
        var (_, x, _) = Setup();
        using var s = PixelMaps.sobel_map(x);
        ReferenceTests.AssertClose(D("sobel"), s, 1e-12, "sobel");
    }
}
