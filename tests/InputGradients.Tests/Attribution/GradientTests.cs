using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Attribution;

/// <summary>Input gradients against central finite differences, and hand-weighted models with hand-computed maps.</summary>
public class GradientTests
{
    [Fact]
    public void Input_gradient_matches_central_finite_differences()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var y = Target.Classes(2, 4);
        using var g = new Saliency(model) { Abs = false }.attribute(x, y);
        var ga = g.data<double>().ToArray();
        var xs = x.data<double>().ToArray();
        const double h = 1e-6;
        double worst = 0;
        for (int i = 0; i < xs.Length; i += 5) {
            double Score(double v)
            {
                var p = (double[])xs.Clone(); p[i] = v;
                using var t = torch.tensor(p, dtype: ScalarType.Float64).reshape(2, 3, 8, 8);
                using var o = model.call(t);
                return o[0, 2].item<double>() + o[1, 4].item<double>();
            }
            var fd = (Score(xs[i] + h) - Score(xs[i] - h)) / (2 * h);
            worst = Math.Max(worst, Math.Abs(fd - ga[i]));
        }
        Assert.True(worst < 1e-7, $"worst |fd - grad| = {worst}");
    }

    [Fact]
    public void Hand_weighted_two_pixel_model_gives_hand_computed_maps()
    {
        // out = 3·relu(x0) − 1·relu(x1) at x = (1, 2): gradient (3, −1); guided: negative gradient blocked → (3, 0).
        var model = new TwoPixelNet(3, -1);
        using var x = torch.tensor(new[] { 1.0, 2.0 }, dtype: ScalarType.Float64).reshape(1, 1, 1, 2);
        using var raw = new Saliency(model) { Abs = false }.attribute(x, 0);
        Assert.Equal(new[] { 3.0, -1.0 }, raw.data<double>().ToArray());
        using var sal = new Saliency(model).attribute(x, 0);
        Assert.Equal(new[] { 3.0, 1.0 }, sal.data<double>().ToArray());
        using var gb = new GuidedBackprop(model).attribute(x, 0);
        Assert.Equal(new[] { 3.0, 0.0 }, gb.data<double>().ToArray());
        using var img = GuidedBackprop.to_image(gb);
        Assert.Equal(new long[] { 1, 1, 2, 1 }, img.shape);
        Assert.Equal(new[] { 1.0, 0.0 }, img.data<double>().ToArray());
        // Layer "conv": A = (1, 2), dout/dA = (3, −1), w = mean = 1, CAM = relu(1·A) = (1, 2).
        using var cam = new GradCam(model, "conv").attribute(x, 0);
        Assert.Equal(new long[] { 1, 1, 1, 2 }, cam.shape);
        Assert.Equal(new[] { 1.0, 2.0 }, cam.data<double>().ToArray());
        // With weights (−3, 1): w = −1, weighted sum = (−1, −2): Grad-CAM's ReLU gives 0, LayerGradCam keeps the sign.
        var neg = new TwoPixelNet(-3, 1);
        using var cam0 = new GradCam(neg, "conv").attribute(x, 0);
        Assert.Equal(new[] { 0.0, 0.0 }, cam0.data<double>().ToArray());
        using var lgc = new LayerGradCam(neg, "conv").attribute(x, 0);
        Assert.Equal(new[] { -1.0, -2.0 }, lgc.data<double>().ToArray());
        // Layer activation: channel mean of A = A.
        using var act = new LayerActivation(model, "conv").attribute(x, 0);
        Assert.Equal(new[] { 1.0, 2.0 }, act.data<double>().ToArray());
        // Guided Grad-CAM at x = (2, 1): guided backprop (3, 0) × CAM (2, 1) scaled to [0, 1] = (1, 0) → (3, 0).
        using var x2 = torch.tensor(new[] { 2.0, 1.0 }, dtype: ScalarType.Float64).reshape(1, 1, 1, 2);
        using var ggc = new GuidedGradCam(model, "conv").attribute(x2, 0);
        Assert.Equal(new[] { 3.0, 0.0 }, ggc.data<double>().ToArray());
    }

    [Theory]
    [InlineData(IntegrationMethod.RiemannTrapezoid, 5, 1.0)]
    [InlineData(IntegrationMethod.GaussLegendre, 3, 1.0)]
    [InlineData(IntegrationMethod.RiemannMiddle, 4, 1.0)]
    [InlineData(IntegrationMethod.RiemannLeft, 4, 0.75)]    // Σ (1/n)·2(k/n) = (n−1)/n
    [InlineData(IntegrationMethod.RiemannRight, 4, 1.25)]   // (n+1)/n
    public void IG_of_sum_of_squares_is_x_squared_times_the_rule_factor(IntegrationMethod method, int steps, double factor)
    {
        // F = Σx², zero baseline: IG_i = x_i ∫ 2αx_i dα = x_i², and each rule integrates 2α to the factor given.
        var model = new SquareNet();
        using var x = torch.tensor(new[] { 1.0, -2.0, 0.5, 3.0 }, dtype: ScalarType.Float64).reshape(2, 1, 1, 2);
        using var r = new IntegratedGradients(model, new(steps, method)).attribute_with_delta(x, 0);
        var expected = new[] { 1.0, 4.0, 0.25, 9.0 }.Select(v => v * factor).ToArray();
        ReferenceTests.AssertClose(expected, r.Attributions, 1e-12, method.ToString());
        // delta = Σ attr − (F(x) − F(0)) = (factor − 1)·F(x)
        ReferenceTests.AssertClose(new[] { 5.0 * (factor - 1), 9.25 * (factor - 1) }, r.ConvergenceDelta, 1e-12, "delta");
    }

    [Fact]
    public void Gauss_legendre_nodes_match_tabulated_values()
    {
        // 3-point rule on [−1, 1]: ±√(3/5) with weight 5/9, 0 with weight 8/9.
        var (x, w) = Quadrature.gauss_legendre(3);
        Assert.Equal(-Math.Sqrt(0.6), x[0], 13);
        Assert.Equal(0.0, x[1], 13);
        Assert.Equal(Math.Sqrt(0.6), x[2], 13);
        Assert.Equal(5.0 / 9, w[0], 13);
        Assert.Equal(8.0 / 9, w[1], 13);
    }

    [Fact]
    public void IG_completeness_on_a_relu_cnn()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using var baseline = torch.full(new long[] { 1, 3, 8, 8 }, 0.1, dtype: ScalarType.Float64);
        using var r = new IntegratedGradients(model, new(300, IntegrationMethod.RiemannTrapezoid)).attribute_with_delta(x, Target.Classes(1, 3), baseline);
        // Independent check of the delta: recompute the score difference here.
        using var o = model.call(x);
        using var ob = model.call(baseline.expand(2, 3, 8, 8));
        var diff = new[] { o[0, 1].item<double>() - ob[0, 1].item<double>(), o[1, 3].item<double>() - ob[1, 3].item<double>() };
        using var sums = r.Attributions.reshape(2, -1).sum(1);
        var s = sums.data<double>().ToArray();
        var d = r.ConvergenceDelta.data<double>().ToArray();
        for (int i = 0; i < 2; i++) {
            Assert.Equal(s[i] - diff[i], d[i], 12);
            Assert.True(Math.Abs(d[i]) < 2e-3 * Math.Max(1, Math.Abs(diff[i])), $"completeness: Σattr {s[i]} vs ΔF {diff[i]}");
        }
    }

    [Fact]
    public void Conductance_of_a_layer_sums_to_the_score_difference()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using var c = new LayerConductance(model, "block") { Steps = 400 }.attribute_channels(x, Target.Classes(1, 3));
        using var o = model.call(x);
        using var z = model.call(torch.zeros_like(x));
        var diff = new[] { o[0, 1].item<double>() - z[0, 1].item<double>(), o[1, 3].item<double>() - z[1, 3].item<double>() };
        using var sums = c.reshape(2, -1).sum(1);
        var s = sums.data<double>().ToArray();
        for (int i = 0; i < 2; i++) Assert.True(Math.Abs(s[i] - diff[i]) < 2e-3 * Math.Max(1, Math.Abs(diff[i])), $"Σcond {s[i]} vs ΔF {diff[i]}");
    }

    [Fact]
    public void Layer_targets_reach_intermediate_channels()
    {
        // Target = mean of channel 2 of conv2: its gradient must match finite differences of that mean.
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 }).narrow(0, 0, 1).contiguous();
        var t = Target.Channel("conv2", 2);
        using var g = new Saliency(model) { Abs = false }.attribute(x, t);
        var xs = x.data<double>().ToArray();
        var ga = g.data<double>().ToArray();
        double Score(double[] p)
        {
            using var tt = torch.tensor(p, dtype: ScalarType.Float64).reshape(1, 3, 8, 8);
            return Gradients.forward_scores(model, tt, t).item<double>();
        }
        for (int i = 0; i < xs.Length; i += 7) {
            var p = (double[])xs.Clone(); var m = (double[])xs.Clone();
            p[i] += 1e-6; m[i] -= 1e-6;
            Assert.Equal((Score(p) - Score(m)) / 2e-6, ga[i], 7);
        }
    }

    [Fact]
    public void Layer_maps_are_brought_to_input_size()
    {
        var model = RefNet.Load();
        using var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        var method = new LayerActivation(model, "block");
        using var small = method.attribute(x, 0);
        Assert.Equal(new long[] { 2, 1, 4, 4 }, small.shape);
        using var big = method.attribute_at_input_size(x, 0);
        Assert.Equal(new long[] { 2, 1, 8, 8 }, big.shape);
        // Bilinear ×2 with align_corners=false: output pixel (1, 1) sits at source (0.25, 0.25).
        var s = small.data<double>().ToArray();
        double expected = 0.75 * 0.75 * s[0] + 0.75 * 0.25 * s[1] + 0.25 * 0.75 * s[4] + 0.25 * 0.25 * s[5];
        Assert.Equal(expected, big[0, 0, 1, 1].item<double>(), 12);
        Assert.Equal(s[0], big[0, 0, 0, 0].item<double>(), 12);   // corners clamp to the first source pixel
    }

    [Fact]
    public void SmoothGrad_of_a_locally_linear_model_is_its_gradient_and_is_seeded()
    {
        // Far from the ReLU kinks (noise σ = 1% of the range), the gradient is constant: every sample gives (3, −1).
        var model = new TwoPixelNet(3, -1);
        using var x = torch.tensor(new[] { 1.0, 2.0 }, dtype: ScalarType.Float64).reshape(1, 1, 1, 2);
        var sg = new SmoothGrad(new Saliency(model) { Abs = false }) { Samples = 7, NoiseLevel = 0.01, Seed = 3 };
        using var a = sg.attribute(x, 0);
        ReferenceTests.AssertClose(new[] { 3.0, -1.0 }, a, 1e-12, "SmoothGrad");
        using var sq = new SmoothGrad(new Saliency(model) { Abs = false }) { Samples = 7, NoiseLevel = 0.01, Squared = true }.attribute(x, 0);
        ReferenceTests.AssertClose(new[] { 9.0, 1.0 }, sq, 1e-12, "SmoothGrad-Squared");
        // Across a kink the mean gradient is between the two sides, and the seed fixes it.
        var rn = RefNet.Load();
        using var xr = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 });
        using var r1 = new SmoothGrad(new Saliency(rn)) { Samples = 4, Seed = 11 }.attribute(xr, Target.Classes(1, 3));
        using var r2 = new SmoothGrad(new Saliency(rn)) { Samples = 4, Seed = 11 }.attribute(xr, Target.Classes(1, 3));
        using var r3 = new SmoothGrad(new Saliency(rn)) { Samples = 4, Seed = 12 }.attribute(xr, Target.Classes(1, 3));
        Assert.True(r1.eq(r2).all().item<bool>());
        Assert.False(r1.allclose(r3));
    }

    sealed class IgnoresItsInput : nn.Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Parameter bias = new(ones(1, 3));
        public IgnoresItsInput() : base(nameof(IgnoresItsInput)) => RegisterComponents();
        public override Tensor forward(Tensor x) => bias.expand(x.shape[0], 3) * 2;   // depends on a parameter, not on x
    }

    [Fact]
    public void Gradients_of_something_that_does_not_depend_on_the_input_are_a_clear_error_and_the_process_lives()
    {
        // libtorch refuses these with an error TorchSharp's autograd.grad does not catch (the process aborts);
        // Gradients.grad must ask so that it never gets there.
        using var scope = NewDisposeScope();
        var e = Assert.Throws<InvalidOperationException>(() => Gradients.input_gradients(new IgnoresItsInput(), randn(2, 4), Target.Classes(0, 1)));
        Assert.Contains("does not depend on the input", e.Message);
        var x = randn(3).requires_grad_(true);
        var unused = randn(3).requires_grad_(true);
        e = Assert.Throws<InvalidOperationException>(() => Gradients.grad((x * x).sum(), [x, unused], "The sum", ["x", "the other"]));
        Assert.Contains("does not depend on the other", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => Gradients.grad(randn(3).sum(), [x], "A constant", ["x"]));
        Assert.Contains("A constant does not depend on x", e.Message);
        var g = Gradients.grad((x * x).sum(), [x], "The sum", ["x"])[0];
        Assert.True(g.allclose(2 * x.detach()));
    }
}
