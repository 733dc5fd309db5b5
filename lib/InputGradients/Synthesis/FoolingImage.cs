using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>A fooling image, the number of steps taken, and whether the model now predicts the target.</summary>
public sealed record FoolingResult(Tensor Image, int Iterations, bool Succeeded, long Predicted) : IDisposable
{
    public void Dispose() => Image.Dispose();
}

/// <summary>Progress of <see cref="FoolingImage.make"/>: step, target score, current prediction.</summary>
public readonly record struct FoolingProgress(int Iteration, int MaxIterations, double TargetScore, long Predicted);

/// <summary>
/// Fooling images (Szegedy et al., "Intriguing properties of neural networks", ICLR 2014): normalised gradient
/// ascent on the target class score, X ← X + lr·g/‖g‖₂ with g = ∂s_target/∂X, until the model predicts the
/// target or <c>max_iter</c> steps were taken.
/// </summary>
/// <example><code>
/// using var r = FoolingImage.make(X, 6, model);          // X: 1×3×224×224, class 6 (stingray)
/// Console.WriteLine($"{r.Succeeded} after {r.Iterations} steps");
/// </code></example>
public static class FoolingImage
{
    /// <param name="X">Image, 1×C×H×W (not modified).</param>
    /// <param name="target_y">Class the model should predict.</param>
    /// <param name="model">Classifier with N×K output.</param>
    /// <param name="lr">Step length in input units (the original: 10; the earlier Stanford version: 1).</param>
    /// <param name="max_iter">Step cap (100).</param>
    public static FoolingResult make(Tensor X, long target_y, nn.Module<Tensor, Tensor> model, double lr = 10, int max_iter = 100, IProgress<FoolingProgress>? progress = null)
    {
        if (X.dim() != 4 || X.shape[0] != 1) throw new ArgumentException($"FoolingImage.make: X must be one image 1×C×H×W, got [{string.Join(",", X.shape)}].");
        using var guard = new ModelGuard(model);
        using var scope = torch.NewDisposeScope();
        var x = X.detach().clone();
        var target = Target.Class(target_y);
        int it = 0;
        long predicted;
        while (true) {
            using var step = torch.NewDisposeScope();
            using var enable = torch.enable_grad();
            var xi = x.detach().requires_grad_(true);
            var output = model.call(xi);
            var score = target.scores(output, new Dictionary<string, Tensor>(), 1);
            predicted = output.argmax(1).item<long>();
            progress?.Report(new FoolingProgress(it, max_iter, score.to_type(ScalarType.Float64).item<double>(), predicted));
            if (predicted == target_y || it == max_iter) break;
            var g = torch.autograd.grad(new[] { score.sum() }, new[] { xi })[0];
            var norm = g.norm();
            if (norm.to_type(ScalarType.Float64).item<double>() == 0) break;   // flat score: no direction to go
            using (torch.no_grad()) x.add_(g * (lr / norm));
            it++;
        }
        return new FoolingResult(x.MoveToOuterDisposeScope(), it, predicted == target_y, predicted);
    }
}
