using System.Text.Json;
using InputGradients.Core;
using InputGradients.Synthesis.Style;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

/// <summary>The losses against values PyTorch computed on the same inputs (tests/reference/style_losses_reference.py).</summary>
public class StyleLossesTests
{
    static readonly JsonElement Ref = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("style", "losses.json"))).RootElement;

    static Tensor T(string values, string shape) =>
        tensor(Ref.GetProperty(values).EnumerateArray().Select(v => v.GetDouble()).ToArray(), dtype: ScalarType.Float64)
            .reshape(Ref.GetProperty(shape).EnumerateArray().Select(v => v.GetInt64()).ToArray());

    static double D(string name) => Ref.GetProperty(name).GetDouble();

    static void Close(double expected, Tensor actual) =>
        Assert.True(StyleLosses.rel_error(tensor(expected, dtype: ScalarType.Float64), actual) < 1e-12,
            $"expected {expected}, got {actual.item<double>()}");

    [Fact]
    public void Content_loss_matches_pytorch() =>
        Close(D("content_loss"), StyleLosses.content_loss(D("content_weight"), T("content_current", "content_shape"), T("content_original", "content_shape")));

    [Fact]
    public void Gram_matrix_matches_pytorch()
    {
        var f = T("gram_input", "gram_input_shape");
        var c = f.shape[1];
        var expected = tensor(Ref.GetProperty("gram_normalized").EnumerateArray().Select(v => v.GetDouble()).ToArray(), dtype: ScalarType.Float64).reshape(1, c, c);
        var unnormalized = tensor(Ref.GetProperty("gram_unnormalized").EnumerateArray().Select(v => v.GetDouble()).ToArray(), dtype: ScalarType.Float64).reshape(1, c, c);
        Assert.True(StyleLosses.rel_error(expected, StyleLosses.gram_matrix(f)) < 1e-12);
        Assert.True(StyleLosses.rel_error(unnormalized, StyleLosses.gram_matrix(f, normalize: false)) < 1e-12);
    }

    [Fact]
    public void Style_loss_matches_pytorch()
    {
        var shapes = Ref.GetProperty("style_shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        Tensor Nth(string name, int i) =>
            tensor(Ref.GetProperty(name)[i].EnumerateArray().Select(v => v.GetDouble()).ToArray(), dtype: ScalarType.Float64).reshape(shapes[i]);
        var feats = Enumerable.Range(0, shapes.Length).Select(i => Nth("style_feats", i)).ToList();
        var targets = Enumerable.Range(0, shapes.Length).Select(i => StyleLosses.gram_matrix(Nth("style_sources", i))).ToList();
        var weights = Ref.GetProperty("style_weights").EnumerateArray().Select(v => v.GetDouble()).ToList();
        Close(D("style_loss"), StyleLosses.style_loss(feats, targets, weights));
    }

    (List<Tensor> Feats, List<Tensor> Targets, List<double> Weights) StyleCase()
    {
        var shapes = Ref.GetProperty("style_shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        Tensor Nth(string name, int i) =>
            tensor(Ref.GetProperty(name)[i].EnumerateArray().Select(v => v.GetDouble()).ToArray(), dtype: ScalarType.Float64).reshape(shapes[i]);
        return (Enumerable.Range(0, shapes.Length).Select(i => Nth("style_feats", i)).ToList(),
            Enumerable.Range(0, shapes.Length).Select(i => StyleLosses.gram_matrix(Nth("style_sources", i))).ToList(),
            Ref.GetProperty("style_weights").EnumerateArray().Select(v => v.GetDouble()).ToList());
    }

    [Fact]
    public void Symmetric_style_loss_matches_pytorch_and_its_gradient_matches_autograd_and_finite_differences()
    {
        var (feats, targets, weights) = StyleCase();
        Close(D("style_loss"), StyleLosses.style_loss_symmetric(feats, targets, weights));

        var plain = feats.Select(f => f.detach().clone().requires_grad_(true)).ToArray();
        var expected = autograd.grad([StyleLosses.style_loss(plain, targets, weights)], plain);
        var ours = feats.Select(f => f.detach().clone().requires_grad_(true)).ToArray();
        var got = autograd.grad([StyleLosses.style_loss_symmetric(ours, targets, weights)], ours);
        for (int l = 0; l < feats.Count; l++)
            Assert.True(StyleLosses.rel_error(expected[l], got[l]) < 1e-12, $"layer {l}: gradient differs from autograd of style_loss");

        // Central differences at a few coordinates of each layer, in float64.
        var rng = new Random(4);
        const double h = 1e-6;
        for (int l = 0; l < feats.Count; l++)
            for (int k = 0; k < 5; k++)
            {
                long index = rng.NextInt64(feats[l].numel());
                double At(double delta)
                {
                    var moved = feats.Select(f => f.clone()).ToList();
                    var flat = moved[l].view(-1);
                    flat[index] = flat[index].add_scalar(delta);
                    return StyleLosses.style_loss_symmetric(moved, targets, weights).item<double>();
                }
                double numeric = (At(h) - At(-h)) / (2 * h), analytic = got[l].reshape(-1)[index].item<double>();
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * Math.Max(1, Math.Abs(analytic)),
                    $"layer {l}, element {index}: finite difference {numeric} against gradient {analytic}");
            }
    }

    [Fact]
    public void Symmetric_style_loss_on_channels_last_float32_features_gives_style_losss_value_exactly()
    {
        // Style transfer hands it the backbone's channels-last activations.
        var g = new Generator(8);
        var feats = new[] { (2L, 16L, 12L, 10L), (2L, 32L, 6L, 5L) }
            .Select(s => randn(new[] { s.Item1, s.Item3, s.Item4, s.Item2 }, generator: g).permute(0, 3, 1, 2)).ToList();
        var targets = feats.Select(f => StyleLosses.gram_matrix(randn(f.shape, generator: g))).ToList();
        double[] weights = [0.7, 2.0];
        var a = feats.Select(f => f.detach().requires_grad_(true)).ToArray();
        var b = feats.Select(f => f.detach().requires_grad_(true)).ToArray();
        var plain = StyleLosses.style_loss(a, targets, weights);
        var ours = StyleLosses.style_loss_symmetric(b, targets, weights);
        Assert.Equal(plain.item<float>(), ours.item<float>());
        var ga = autograd.grad([plain], a);
        var gb = autograd.grad([ours], b);
        for (int l = 0; l < feats.Count; l++) Assert.True(StyleLosses.rel_error(ga[l], gb[l]) < 1e-5, $"layer {l}: gradients differ");
    }

    [Fact]
    public void Symmetric_style_loss_refuses_a_target_that_is_not_symmetric()
    {
        var f = randn(1, 3, 4, 4, generator: new Generator(2));
        var target = StyleLosses.gram_matrix(f).clone();
        target[0, 0, 1] = target[0, 0, 1].add_scalar(0.5);
        var ex = Assert.Throws<ArgumentException>(() => StyleLosses.style_loss_symmetric([f], [target], [1.0]));
        Assert.Contains("not symmetric", ex.Message);
        // A target accepted once and then written in place is checked again.
        var accepted = StyleLosses.gram_matrix(f).clone();
        StyleLosses.style_loss_symmetric([f], [accepted], [1.0]);
        accepted[0, 1, 2] = accepted[0, 1, 2].add_scalar(0.5);
        Assert.Contains("not symmetric", Assert.Throws<ArgumentException>(() => StyleLosses.style_loss_symmetric([f], [accepted], [1.0])).Message);
        Assert.Throws<ArgumentException>(() => StyleLosses.style_loss_symmetric([f], [], [1.0]));
    }

    [Fact]
    public void Tv_loss_matches_pytorch() =>
        Close(D("tv_loss"), StyleLosses.tv_loss(T("tv_image", "tv_shape"), D("tv_weight")));

    [Fact]
    public void Tv_loss_of_a_ramp_is_known_exactly()
    {
        // A 1×1×3×4 image x[i,j] = j: no vertical change; 3 rows × 3 horizontal steps of 1.
        var img = arange(4, dtype: ScalarType.Float64).repeat(3, 1).reshape(1, 1, 3, 4);
        Assert.Equal(2.0 * 9, StyleLosses.tv_loss(img, 2.0).item<double>(), 12);
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => StyleLosses.gram_matrix(zeros(3, 4)));
        Assert.Contains("N×C×H×W", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => StyleLosses.content_loss(1, zeros(1, 2, 3, 3), zeros(1, 2, 3, 4)));
        Assert.Contains("[1,2,3,3] vs [1,2,3,4]", ex2.Message);
        Assert.Throws<ArgumentException>(() => StyleLosses.style_loss([zeros(1, 2, 3, 3)], [], [1.0]));
    }
}
