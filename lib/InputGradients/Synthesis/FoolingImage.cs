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
    /// <summary>
    /// Normalised gradient ascent on any objective, stopping when <paramref name="predict"/> (the activations of the current image →
    /// an index) gives <paramref name="goal"/>. The CLI uses it to make the backbone's most active channel a chosen one.
    /// </summary>
    public static FoolingResult toward(Tensor X, Objective objective, Func<Activations, long> predict, long goal, nn.Module<Tensor, Tensor> model,
        double lr = 10, int max_iter = 100, IProgress<FoolingProgress>? progress = null, double? budget = null, InputSpace? space = null)
    {
        if (X.dim() != 4 || X.shape[0] != 1) throw new ArgumentException($"FoolingImage.make: X must be one image 1×C×H×W, got [{string.Join(",", X.shape)}].");
        if (max_iter < 0) throw new ArgumentOutOfRangeException(nameof(max_iter), $"max_iter must be non-negative, got {max_iter}.");
        using var scope = torch.NewDisposeScope();
        using var pixels = new PixelImage(X, space, budget is null ? null : space?.Low, budget is null ? null : space?.High, budget: budget);
        long predicted = -1;
        bool Reached(Activations a)
        {
            predicted = predict(a);
            return predicted == goal;
        }
        var report = progress is null ? null : new Experiments.ProgressReport<AscentProgress>(p =>
        {
            progress.Report(new FoolingProgress(p.Iteration, max_iter, p.Objective, predicted));
        });
        using var r = Ascent.run(model, objective, pixels, new AscentOptions {
            Iterations = max_iter, Optimizer = AscentOptimizer.SGD, LearningRate = lr, NormalizeGradient = true,
            StopWhen = Reached, Progress = report,
        });
        return new FoolingResult(r.Input.clone().MoveToOuterDisposeScope(), r.Steps, r.Stopped, predicted);
    }

    /// <param name="X">Image, 1×C×H×W (not modified).</param>
    /// <param name="target_y">Class the model should predict.</param>
    /// <param name="model">Classifier with N×K output.</param>
    /// <param name="lr">Step length in input units (the original: 10; the earlier Stanford version: 1).</param>
    /// <param name="max_iter">Step cap (100).</param>
    /// <param name="progress">Reports each step.</param>
    /// <param name="budget">Optional L∞ budget: no input value moves more than this from <paramref name="X"/> (input units).</param>
    /// <param name="space">With a budget, also keep the pixels valid in this input space (optional).</param>
    public static FoolingResult make(Tensor X, long target_y, nn.Module<Tensor, Tensor> model, double lr = 10, int max_iter = 100,
        IProgress<FoolingProgress>? progress = null, double? budget = null, InputSpace? space = null)
    {
        // The class logit is the objective; the prediction is the arg max of the output.
        var objective = Objective.ClassLogit(target_y);
        return toward(X, objective, a => a.NeedOutput().argmax(1)[0].item<long>(), target_y, model, lr, max_iter, progress, budget, space);
    }
}
