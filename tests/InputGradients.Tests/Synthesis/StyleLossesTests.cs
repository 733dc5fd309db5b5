using System.Text.Json;
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
