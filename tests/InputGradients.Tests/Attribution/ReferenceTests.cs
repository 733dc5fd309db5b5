using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Attribution;

/// <summary>Against tests/reference/attribution_reference.py (plain PyTorch autograd on the same weights and input).</summary>
public class ReferenceTests
{
    // Both sides run in float64 from the same float32 weights, so agreement is far tighter than the 1e-4 asked for.
    private const double Tol = 1e-9;
    private static readonly long[] Shape = { 2, 3, 8, 8 };

    internal static void AssertClose(double[] expected, Tensor actual, double tol = Tol, string what = "")
    {
        var a = actual.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        double worst = 0; int at = -1;
        for (int i = 0; i < a.Length; i++) {
            var d = Math.Abs(a[i] - expected[i]) / Math.Max(1.0, Math.Abs(expected[i]));
            if (d > worst) { worst = d; at = i; }
        }
        Assert.True(worst <= tol, $"{what}: worst relative error {worst:g3} at {at} (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? a[at] : 0)})");
    }

    private static (RefNet model, Tensor x, Target y) Setup() =>
        (RefNet.Load(), Fixtures.Tensor("input", Shape), Target.Classes(Fixtures.Longs("target")));

    [Fact]
    public void Logits_match_pytorch()
    {
        var (model, x, _) = Setup();
        using var o = model.call(x);
        AssertClose(Fixtures.Doubles("logits"), o, 1e-10, "logits");
    }

    [Fact]
    public void Saliency_matches_pytorch()
    {
        var (model, x, y) = Setup();
        using var raw = new Saliency(model) { Abs = false }.attribute(x, y);
        AssertClose(Fixtures.Doubles("gradient"), raw, what: "gradient");
        using var map = Saliency.compute_saliency_maps(x, y, model);
        Assert.Equal(new long[] { 2, 8, 8 }, map.shape);
        AssertClose(Fixtures.Doubles("saliency_map"), map, what: "saliency map");
    }

    [Fact]
    public void IntegratedGradients_trapezoid_matches_pytorch()
    {
        var (model, x, y) = Setup();
        var ig = new IntegratedGradients(model, new IntegratedGradientsOptions(16, IntegrationMethod.RiemannTrapezoid));
        using var a = ig.attribute(x, y);
        AssertClose(Fixtures.Doubles("ig_trapezoid_16"), a, what: "IG trapezoid");
    }

    [Fact]
    public void IntegratedGradients_gauss_legendre_matches_pytorch_and_numpy_nodes()
    {
        var (model, x, y) = Setup();
        var ig = new IntegratedGradients(model, new IntegratedGradientsOptions(10, IntegrationMethod.GaussLegendre));
        using var r = ig.attribute_with_delta(x, y);
        AssertClose(Fixtures.Doubles("ig_gausslegendre_10"), r.Attributions, what: "IG Gauss-Legendre");
        // Completeness against the reference's own score difference.
        var diff = Fixtures.Doubles("score_difference");
        using var sums = r.Attributions.reshape(2, -1).sum(1);
        using var delta_expected = sums - torch.tensor(diff, dtype: ScalarType.Float64);
        AssertClose(delta_expected.data<double>().ToArray(), r.ConvergenceDelta, 1e-8, "delta");
    }

    [Fact]
    public void GuidedBackprop_matches_pytorch_through_nested_and_inplace_relus()
    {
        var (model, x, y) = Setup();
        Assert.True(model.Relu2.inplace);
        var gb = new GuidedBackprop(model);
        using var a = gb.attribute(x, y);
        AssertClose(Fixtures.Doubles("guided_backprop"), a, what: "guided backprop");
        Assert.Equal(new[] { "relu1", "relu2", "block.relu" }.OrderBy(s => s), gb.GuidedRelus.OrderBy(s => s));
        Assert.True(model.Relu2.inplace);   // restored
    }

    [Theory]
    [InlineData("conv2")]
    [InlineData("block")]
    public void GradCam_matches_pytorch(string layer)
    {
        var (model, x, y) = Setup();
        var gc = new GradCam(model, layer);
        using var small = gc.attribute(x, y);
        Assert.Equal(Fixtures.Longs($"gradcam_{layer}_shape"), small.shape);
        AssertClose(Fixtures.Doubles($"gradcam_{layer}_small"), small, what: "CAM");
        using var big = gc.cam(x, y);
        Assert.Equal(new long[] { 2, 1, 8, 8 }, big.shape);
        AssertClose(Fixtures.Doubles($"gradcam_{layer}_upsampled"), big, what: "upsampled CAM");
    }

    [Fact]
    public void GradCamPlusPlus_matches_pytorch()
    {
        var (model, x, y) = Setup();
        using var cam = new GradCamPlusPlus(model, "block").attribute(x, y);
        AssertClose(Fixtures.Doubles("gradcampp_block_small"), cam, what: "Grad-CAM++");
        using var plain = new GradCam(model, "block").attribute(x, y);
        Assert.False(cam.allclose(plain));   // the weights really differ from Grad-CAM's
    }

    [Fact]
    public void LayerConductance_matches_pytorch()
    {
        var (model, x, y) = Setup();
        var lc = new LayerConductance(model, "conv2") { Steps = 20 };
        using var c = lc.attribute_channels(x, y);
        AssertClose(Fixtures.Doubles("conductance_conv2_20"), c, what: "conductance");
    }

    /// <summary>The models the library serves are float32: the same methods in float32 against the float64 reference.</summary>
    [Fact]
    public void Float32_models_agree_with_the_reference_within_1e_5()
    {
        var model = RefNet.Load();
        model.to(ScalarType.Float32);
        using var x = Fixtures.Tensor("input", Shape).to_type(ScalarType.Float32);
        var y = Target.Classes(Fixtures.Longs("target"));
        const double tol = 1e-5;
        var checks = new (string key, Func<Tensor> run)[] {
            ("gradient", () => new Saliency(model) { Abs = false }.attribute(x, y)),
            ("saliency_map", () => Saliency.compute_saliency_maps(x, y, model)),
            ("ig_trapezoid_16", () => new IntegratedGradients(model, new(16, IntegrationMethod.RiemannTrapezoid, InternalBatchSize: 5)).attribute(x, y)),
            ("ig_gausslegendre_10", () => new IntegratedGradients(model, new(10)).attribute(x, y)),
            ("guided_backprop", () => new GuidedBackprop(model).attribute(x, y)),
            ("gradcam_block_small", () => new GradCam(model, "block").attribute(x, y)),
            ("gradcam_conv2_upsampled", () => new GradCam(model, "conv2").cam(x, y)),
            ("gradcampp_block_small", () => new GradCamPlusPlus(model, "block").attribute(x, y)),
            ("conductance_conv2_20", () => new LayerConductance(model, "conv2") { Steps = 20 }.attribute_channels(x, y)),
        };
        foreach (var (key, run) in checks) {
            using var r = run();
            Assert.Equal(ScalarType.Float32, r.dtype);
            AssertClose(Fixtures.Doubles(key), r, tol, key + " (float32)");
        }
    }
}
