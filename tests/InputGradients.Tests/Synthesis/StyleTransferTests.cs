using InputGradients.Synthesis.Style;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

public class StyleTransferTests
{
    /// <summary>A small seeded conv net with named layers to take content and style features from.</summary>
    static nn.Module<Tensor, Tensor> TinyNet()
    {
        manual_seed(11);
        return nn.Sequential(
            ("conv1", nn.Conv2d(3, 8, 3, padding: 1)), ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(8, 8, 3, padding: 1, stride: 2)), ("relu2", nn.ReLU()),
            ("conv3", nn.Conv2d(8, 8, 3, padding: 1)));
    }

    static readonly Tensor Lo = full(new long[] { 1, 3, 1, 1 }, -1.0);
    static readonly Tensor Hi = full(new long[] { 1, 3, 1, 1 }, 1.0);

    static StyleTransferOptions Options(int iterations = 30) => new()
    {
        ContentLayer = "relu2", ContentWeight = 1.0,
        StyleLayers = ["relu1", "conv3"], StyleWeights = [100.0, 100.0],
        TvWeight = 1e-3, Iterations = iterations, LearningRate = 0.05, DecayAt = 25, DecayedLearningRate = 0.01,
        ClampUntil = 28, FrameAt = [0, 10, iterations - 1],
    };

    [Fact]
    public void Adam_run_lowers_the_loss_keeps_frames_and_restores_the_model()
    {
        var model = TinyNet();
        model.train();
        manual_seed(1);
        var content = rand(1, 3, 16, 16) * 2 - 1;
        var style = rand(1, 3, 20, 20) * 2 - 1;
        using var result = new StyleTransfer(model, Lo, Hi).run(content, style, Options());
        Assert.True(result.History[^1].Loss < 0.5 * result.History[0].Loss,
            $"loss went from {result.History[0].Loss} to {result.History[^1].Loss}");
        Assert.Equal([0, 10, 29], result.Frames.Select(f => f.Iteration));
        // Frames outlive the run: the last one is the final image (no clamping after iteration 28).
        Assert.Equal(0f, (result.Frames[^1].Image - result.Image).abs().max().item<float>());
        Assert.True((result.Frames[0].Image - content).abs().max().item<float>() > 0);
        Assert.Equal(content.shape, result.Image.shape);
        Assert.True(model.training, "the training flag was not restored");
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        Assert.False(content.requires_grad);
    }

    [Fact]
    public void Lbfgs_run_lowers_the_loss()
    {
        var model = TinyNet();
        manual_seed(2);
        var content = rand(1, 3, 16, 16) * 2 - 1;
        var style = rand(1, 3, 16, 16) * 2 - 1;
        using var result = new StyleTransfer(model, Lo, Hi).run(content, style, Options(20) with { Optimizer = StyleOptimizer.LBFGS, LearningRate = 1 });
        Assert.True(result.History[^1].Loss < 0.5 * result.History[0].Loss);
    }

    [Fact]
    public void Feature_inversion_of_a_linear_layer_from_noise_recovers_its_features()
    {
        var model = TinyNet();
        manual_seed(3);
        var content = rand(1, 3, 16, 16) * 2 - 1;
        // conv1 is linear in the image, so the content loss is a convex quadratic: L-BFGS must drive it near zero.
        var o = Options(40) with
        {
            ContentLayer = "conv1", StyleWeights = [0.0, 0.0], TvWeight = 0, InitRandom = true, Seed = 5,
            Optimizer = StyleOptimizer.LBFGS, LearningRate = 1, ClampUntil = 0,
        };
        using var result = new StyleTransfer(model, Lo, Hi).run(content, null, o);
        Assert.True(result.History[^1].Content < 0.01 * result.History[0].Content,
            $"content loss went from {result.History[0].Content} to {result.History[^1].Content}");
        Assert.Equal(0.0, result.History[^1].Style);
    }

    [Fact]
    public void Random_start_is_reproducible_and_within_the_pixel_range()
    {
        var model = TinyNet();
        var content = zeros(1, 3, 8, 8);
        var o = Options(1) with { StyleWeights = [0.0, 0.0], InitRandom = true, Seed = 9, FrameAt = [], LearningRate = 1e-9 };
        using var a = new StyleTransfer(model, Lo, Hi).run(content, null, o);
        using var b = new StyleTransfer(model, Lo, Hi).run(content, null, o);
        Assert.Equal(0f, (a.Image - b.Image).abs().max().item<float>());
        Assert.True(a.Image.min().item<float>() >= -1 && a.Image.max().item<float>() <= 1);
        Assert.True(a.Image.std().item<float>() > 0.3); // uniform on [-1, 1] has std 0.577
    }

    [Fact]
    public void Missing_style_image_is_a_clear_error()
    {
        var ex = Assert.Throws<ArgumentException>(() => new StyleTransfer(TinyNet(), Lo, Hi).run(zeros(1, 3, 8, 8), null, Options()));
        Assert.Contains("style image", ex.Message);
    }

    [Fact]
    public void NormalizeBySize_divides_each_loss_by_its_target_size()
    {
        // TinyNet on 16×16: relu2 is 1×8×8×8 (512 numbers); relu1 and conv3 have 8 channels, so 8×8 Gram matrices.
        var model = TinyNet();
        manual_seed(4);
        var content = rand(1, 3, 16, 16) * 2 - 1;
        var style = rand(1, 3, 16, 16) * 2 - 1;
        var o = Options(3) with { InitRandom = true, Seed = 6, FrameAt = [] };
        using var plain = new StyleTransfer(model, Lo, Hi).run(content, style, o);
        using var normalized = new StyleTransfer(model, Lo, Hi).run(content, style, o with { NormalizeBySize = true });
        using var byHand = new StyleTransfer(model, Lo, Hi).run(content, style,
            o with { ContentWeight = o.ContentWeight / 512, StyleWeights = [o.StyleWeights[0] / 64, o.StyleWeights[1] / 64] });
        Assert.Equal(plain.History[0].Content / 512, normalized.History[0].Content, 1e-6 * plain.History[0].Content);
        for (var t = 0; t < 3; t++)
        {
            Assert.Equal(byHand.History[t].Content, normalized.History[t].Content, 1e-6 * byHand.History[t].Content);
            Assert.Equal(byHand.History[t].Style, normalized.History[t].Style, 1e-6 * byHand.History[t].Style);
        }
        Assert.True((byHand.Image - normalized.Image).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void AssignmentWeights_divide_by_the_content_size_and_each_gram_size()
    {
        var o = Options() with { ContentWeight = 3, StyleWeights = [4096.0, 16384.0 * 5], NormalizeBySize = true };
        // Content features 1×128×24×32 (98 304 numbers); style layers of 64 and 128 channels (Gram 64² and 128²).
        var (content, style) = o.AssignmentWeights([1, 128, 24, 32], [64, 128]);
        Assert.Equal(3.0 / 98304, content, 15);
        Assert.Equal([1.0, 5.0], style);
        var (plainContent, plainStyle) = (o with { NormalizeBySize = false }).AssignmentWeights([1, 128, 24, 32], [64, 128]);
        Assert.Equal(3.0, plainContent);
        Assert.Equal([4096.0, 81920.0], plainStyle);
        Assert.Throws<ArgumentException>(() => o.AssignmentWeights([1, 128, 24, 32], [64]));
    }

    [Fact]
    public void Loss_terms_give_the_same_value_in_the_assignment_form_and_the_normalised_form()
    {
        // TinyNet on 16×16: relu2 is 8×8×8 (512 numbers); relu1 and conv3 have 8 channels (Gram matrices of 64).
        var model = TinyNet();
        manual_seed(5);
        var content = rand(1, 3, 16, 16) * 2 - 1;
        var style = rand(1, 3, 16, 16) * 2 - 1;
        var current = rand(1, 3, 16, 16) * 2 - 1;
        var o = Options() with { NormalizeBySize = true };
        var terms = new StyleTransfer(model, Lo, Hi).loss_terms(current, content, style, o);
        Assert.Equal(["content relu2 8×8×8", "style relu1 8×16×16", "style conv3 8×8×8"], terms.Select(t => $"{t.Loss} {t.Layer} {t.FeatureShape}"));
        Assert.Equal([1.0 / 512, 1.0 / 64, 1.0 / 64], terms.Select(t => t.Factor));
        Assert.All(terms, t => Assert.True(t.AssignmentLoss > 0 && t.RelativeDifference < 1e-5, t.ToString()));
        // By hand: the content term is w_c/512 times the sum of squares.
        var (_, taps) = InputGradients.Core.LayerTaps.run(model, current, false, "relu2");
        var (_, target) = InputGradients.Core.LayerTaps.run(model, content, false, "relu2");
        var bySum = (taps["relu2"] - target["relu2"]).pow(2).sum().item<float>() / 512.0;
        Assert.Equal(bySum, terms[0].NormalisedLoss, 1e-5 * bySum);
        Assert.Throws<ArgumentException>(() => new StyleTransfer(model, Lo, Hi).loss_terms(current, content, style, o with { NormalizeBySize = false }));
    }
}
