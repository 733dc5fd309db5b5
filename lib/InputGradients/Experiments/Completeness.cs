using InputGradients.Attribution;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>Integrated Gradients at the first step count whose completeness error is small enough.</summary>
/// <param name="Result">Attributions and convergence deltas at <see cref="Steps"/>.</param>
/// <param name="RelativeErrors">|delta| / |F(x) - F(x')| per example.</param>
/// <param name="Converged">Whether every relative error is at most the tolerance (false: the largest step count tried).</param>
public sealed record ConvergedIntegratedGradients(IntegratedGradientsResult Result, int Steps, double[] RelativeErrors, bool Converged) : IDisposable
{
    public void Dispose() => Result.Dispose();
}

/// <summary>
/// Completeness of Integrated Gradients: Σ IG = F(x) − F(x'); the quadrature's error on it (the convergence delta)
/// relative to F(x) − F(x') says whether the step count is enough.
/// </summary>
public static class Completeness
{
    /// <summary>|delta_i| / |scoreDifference_i| for each example (both vectors of N).</summary>
    public static double[] RelativeErrors(Tensor delta, Tensor scoreDifference)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(scoreDifference);
        if (delta.numel() != scoreDifference.numel())
            throw new ArgumentException($"RelativeErrors: {delta.numel()} deltas for {scoreDifference.numel()} score differences.");
        using var scope = torch.NewDisposeScope();
        var d = delta.detach().to_type(ScalarType.Float64).reshape(-1).abs();
        var f = scoreDifference.detach().to_type(ScalarType.Float64).reshape(-1).abs();
        return (d / f).cpu().data<double>().ToArray();
    }

    /// <summary>
    /// Runs <paramref name="run"/> (Integrated Gradients at a step count) for each of <paramref name="stepCounts"/> in
    /// order and returns the first whose relative errors are all at most <paramref name="tolerance"/>, or the last.
    /// <paramref name="scoreDifference"/> holds F(x) − F(x') per example.
    /// </summary>
    public static ConvergedIntegratedGradients SmallestConverged(IReadOnlyList<int> stepCounts, double tolerance,
        Tensor scoreDifference, Func<int, IntegratedGradientsResult> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (stepCounts is null || stepCounts.Count == 0) throw new ArgumentException("SmallestConverged: no step counts to try.", nameof(stepCounts));
        if (stepCounts.Any(s => s < 1)) throw new ArgumentOutOfRangeException(nameof(stepCounts), "step counts must be at least 1.");
        if (!(tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "tolerance must be positive.");
        for (int k = 0; ; k++)
        {
            var r = run(stepCounts[k]);
            var errors = RelativeErrors(r.ConvergenceDelta, scoreDifference);
            bool ok = errors.All(e => e <= tolerance);
            if (ok || k == stepCounts.Count - 1) return new ConvergedIntegratedGradients(r, stepCounts[k], errors, ok);
            r.Dispose();
        }
    }

    /// <summary>
    /// Integrated Gradients of each input with its own target (one example at a time, as
    /// <see cref="ChannelObjectives.PerImage"/>), attributions and deltas stacked.
    /// </summary>
    public static IntegratedGradientsResult PerImage(IntegratedGradients ig, Tensor inputs, Func<int, Core.Target> target)
    {
        ArgumentNullException.ThrowIfNull(ig);
        ArgumentNullException.ThrowIfNull(inputs);
        using var scope = torch.NewDisposeScope();
        var a = new List<Tensor>();
        var d = new List<Tensor>();
        for (int i = 0; i < inputs.shape[0]; i++)
        {
            var r = ig.attribute_with_delta(inputs.narrow(0, i, 1), target(i));
            a.Add(r.Attributions);
            d.Add(r.ConvergenceDelta);
        }
        return new IntegratedGradientsResult(torch.cat(a, 0).MoveToOuterDisposeScope(), torch.cat(d, 0).MoveToOuterDisposeScope());
    }
}
