using InputGradients.Experiments;
using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Synthesis;
using InputGradients.Tests.Attribution;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

public class FoolingImageTests
{
    private static (RefNet model, Tensor x, long predicted, long target) Setup()
    {
        var model = RefNet.Load();
        var x = Fixtures.Tensor("input", new long[] { 2, 3, 8, 8 }).narrow(0, 0, 1).contiguous();
        using var o = model.call(x);
        long p = o.argmax(1).item<long>();
        long t = o.argmin(1).item<long>();   // the least likely class: the hardest target
        Assert.NotEqual(p, t);
        return (model, x, p, t);
    }

    [Fact]
    public void Reaches_the_target_class_within_the_cap()
    {
        var (model, x, _, t) = Setup();
        using var before = x.clone();
        var reports = new List<FoolingProgress>();
        using var r = FoolingImage.make(x, t, model, progress: new ProgressReport<FoolingProgress>(reports.Add));
        Assert.True(r.Succeeded);
        Assert.InRange(r.Iterations, 1, 100);
        using var o = model.call(r.Image);
        Assert.Equal(t, o.argmax(1).item<long>());
        Assert.True(x.eq(before).all().item<bool>());
        Assert.Equal(r.Iterations + 1, reports.Count);
    }

    [Fact]
    public void One_step_is_lr_times_the_normalised_gradient()
    {
        var (model, x, _, t) = Setup();
        using var r = FoolingImage.make(x, t, model, lr: 0.7, max_iter: 1);
        Assert.Equal(1, r.Iterations);
        using var dx = r.Image - x;
        Assert.Equal(0.7, dx.norm().item<double>(), 10);
        using var g = new Saliency(model) { Abs = false }.attribute(x, t);
        using var expected = g * (0.7 / g.norm().item<double>());
        Assert.True(dx.allclose(expected, rtol: 1e-9, atol: 1e-12));
    }

    [Theory]
    [InlineData(10.0, 1)]
    [InlineData(0.4, 3)]    // score₂ = 0.4k must pass score₀ = 1: k = 3
    [InlineData(0.25, 5)]   // 0.25·4 = 1 ties (argmax picks class 0), 0.25·5 wins
    public void Handmade_linear_classifier_is_fooled_in_the_hand_computed_number_of_steps(double lr, int steps)
    {
        // scores = I₃ₓ₄·x: at x = e₀ the class is 0; the gradient of score 2 is e₂, so each step adds lr·e₂.
        var model = nn.Linear(4, 3, hasBias: false);
        using (torch.no_grad()) model.weight!.copy_(torch.eye(3, 4));
        using var x = torch.tensor(new float[] { 1, 0, 0, 0 }).reshape(1, 4, 1, 1);
        var net = nn.Sequential(nn.Flatten(), model);
        using var r = FoolingImage.make(x, 2, net, lr: lr);
        Assert.True(r.Succeeded);
        Assert.Equal(steps, r.Iterations);
        ReferenceTests.AssertClose(new[] { 1.0, 0, lr * steps, 0 }, r.Image, 1e-6, "fooling image");
    }

    [Fact]
    public void Already_fooled_images_take_no_step()
    {
        var (model, x, p, _) = Setup();
        using var r = FoolingImage.make(x, p, model);
        Assert.True(r.Succeeded);
        Assert.Equal(0, r.Iterations);
        Assert.True(r.Image.eq(x).all().item<bool>());
    }
}
