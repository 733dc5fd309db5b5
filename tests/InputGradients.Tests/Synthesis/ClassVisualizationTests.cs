using InputGradients.Experiments;
using InputGradients.Core;
using InputGradients.Synthesis;
using InputGradients.Tests.Attribution;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

public class ClassVisualizationTests
{
    private static readonly long[] Small = { 1, 3, 8, 8 };

    private static double Objective(RefNet model, Tensor img, Target t, double l2)
    {
        using var s = Gradients.forward_scores(model, img, t);
        using var sq = img.pow(2).sum();
        return s.item<double>() - l2 * sq.item<double>();
    }

    [Fact]
    public void Plain_ascent_increases_the_objective_every_step()
    {
        var model = RefNet.Load();
        var o = new ClassVisualizationOptions { Shape = Small, Iterations = 30, LearningRate = 0.5, MaxJitter = 0, BlurEvery = 0, ClampLow = null, ClampHigh = null, Seed = 4 };
        using var r = ClassVisualization.create(2, model, o);
        for (int i = 1; i < r.Objectives.Count; i++)
            Assert.True(r.Objectives[i] > r.Objectives[i - 1], $"objective fell at step {i}: {r.Objectives[i - 1]} → {r.Objectives[i]}");
        Assert.True(Objective(model, r.Image, 2, 1e-3) > r.Objectives[^1]);
    }

    [Fact]
    public void With_jitter_blur_and_clamp_the_objective_still_rises_and_pixels_stay_in_range()
    {
        var model = RefNet.Load();
        var o = new ClassVisualizationOptions { Shape = Small, Iterations = 100, LearningRate = 5, Seed = 9 };
        using var r = ClassVisualization.create(Target.Channel("block", 1), model, o);
        Assert.True(r.Objectives[^1] > 1.5 * r.Objectives[0] && r.Objectives[0] > 0, $"objective {r.Objectives[0]} → {r.Objectives[^1]}");
        Assert.Equal(new[] { 0, 24, 49, 74, 99 }, r.Frames.Select(f => f.Iteration).ToArray());
        for (int c = 0; c < 3; c++) {
            using var ch = r.Image.select(1, c);
            Assert.True(ch.min().item<double>() >= o.ClampLow![c] - 1e-12);
            Assert.True(ch.max().item<double>() <= o.ClampHigh![c] + 1e-12);
        }
    }

    [Fact]
    public void Same_seed_same_image_and_the_model_is_left_as_found()
    {
        var model = RefNet.Load();
        var o = new ClassVisualizationOptions { Shape = Small, Iterations = 12, LearningRate = 1, Seed = 2 };
        using var a = ClassVisualization.create(0, model, o);
        using var b = ClassVisualization.create(0, model, o);
        Assert.True(a.Image.eq(b.Image).all().item<bool>());
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad && p.grad is null));
        Assert.False(model.training);
    }

    private sealed class ScaledInput : nn.Module<Tensor, Tensor>
    {
        private readonly RefNet inner;
        private readonly double s;
        public ScaledInput(RefNet inner, double s) : base("ScaledInput") { this.inner = inner; this.s = s; RegisterComponents(); }
        public override Tensor forward(Tensor x) => inner.call(x / s);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a normalised gradient step is a length in input units: it scales by s, not s²
    public void Rescaled_options_give_the_scaled_image_on_a_rescaled_model(bool normalizeGradient)
    {
        var model = RefNet.Load();
        var o = new ClassVisualizationOptions
        {
            Shape = Small, Iterations = 20, LearningRate = 2, Seed = 6, ShowEvery = 10, NormalizeGradient = normalizeGradient,
        };
        const double s = 58.0;
        var scaled = new ScaledInput(model, s);
        using var a = ClassVisualization.create(3, model, o);
        using var b = ClassVisualization.create(3, scaled, o.for_input_scale(s));
        using var expected = a.Image * s;
        using var err = (b.Image - expected).abs().max();
        Assert.True(b.Image.allclose(expected, rtol: 1e-8, atol: 1e-8), $"x' = s·x should hold through jitter, ascent, clamp and blur; max error {err.item<double>()}");
        for (int i = 0; i < a.Objectives.Count; i++) Assert.Equal(a.Objectives[i], b.Objectives[i], 8);
    }

    [Fact]
    public void Float32_models_get_float32_images_with_progress_reports()
    {
        var model = RefNet.Load();
        model.to(ScalarType.Float32);
        var reports = new List<ClassVisualizationProgress>();
        var o = new ClassVisualizationOptions { Shape = Small, Iterations = 5, Progress = new ProgressReport<ClassVisualizationProgress>(reports.Add) };
        using var r = ClassVisualization.create(1, model, o);
        Assert.Equal(ScalarType.Float32, r.Image.dtype);
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, reports.Select(p => p.Iteration).ToArray());
        Assert.Equal(r.Objectives, reports.Select(p => p.Objective).ToArray());
    }
}
