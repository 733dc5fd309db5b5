using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Attribution;

/// <summary>Settings of <see cref="IntegratedGradients"/>.</summary>
/// <param name="Steps">Number of points on the path (Captum's <c>n_steps</c>, default 50).</param>
/// <param name="Method">Quadrature rule (Captum's default: Gauss-Legendre).</param>
/// <param name="InternalBatchSize">Rows of the expanded N·Steps batch evaluated at once (null: all at once).
/// Bounds memory; results equal the unbatched ones.</param>
public sealed record IntegratedGradientsOptions(int Steps = 50, IntegrationMethod Method = IntegrationMethod.GaussLegendre, int? InternalBatchSize = null);

/// <summary>Attributions (N×…, the inputs' shape) and the completeness error per example (N):
/// ConvergenceDelta = Σ attributions − (F(x) − F(baseline)).</summary>
public sealed record IntegratedGradientsResult(Tensor Attributions, Tensor ConvergenceDelta) : IDisposable
{
    public void Dispose() { Attributions.Dispose(); ConvergenceDelta.Dispose(); }
}

/// <summary>
/// Integrated Gradients (Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep Networks", ICML 2017):
/// (x − x') ⊙ ∫₀¹ ∂F(x' + α(x − x'))/∂x dα, approximated by a quadrature rule.
/// </summary>
/// <example><code>
/// var ig = new IntegratedGradients(model, new IntegratedGradientsOptions(Steps: 10));
/// using var r = ig.attribute_with_delta(x, Target.Classes(y));   // r.Attributions N×3×H×W, r.ConvergenceDelta N
/// </code></example>
public sealed class IntegratedGradients(nn.Module<Tensor, Tensor> model, IntegratedGradientsOptions? options = null) : IAttribution
{
    public IntegratedGradientsOptions Options { get; } = options ?? new();

    /// <inheritdoc/>
    public Tensor attribute(Tensor inputs, Target target)
    {
        var r = attribute_with_delta(inputs, target);
        r.ConvergenceDelta.Dispose();
        return r.Attributions;
    }

    /// <summary>Attributions and convergence delta. <paramref name="baseline"/> broadcasts to the inputs' shape
    /// (default: zeros).</summary>
    public IntegratedGradientsResult attribute_with_delta(Tensor inputs, Target target, Tensor? baseline = null)
    {
        Gradients.check_batch(inputs, nameof(IntegratedGradients));
        var (alphas, weights) = Quadrature.rule(Options.Method, Options.Steps);
        using var guard = new ModelGuard(model);
        using var scope = torch.NewDisposeScope();
        long n = inputs.shape[0];
        var x = inputs.detach();
        var x0 = baseline is null ? torch.zeros_like(x) : baseline.detach().expand_as(x).contiguous();
        var diff = x - x0;
        long rows = n * alphas.Length;
        long chunk = Options.InternalBatchSize is int b ? (b >= 1 ? b : throw new ArgumentOutOfRangeException(nameof(Options.InternalBatchSize), "InternalBatchSize must be ≥ 1.")) : rows;
        var alpha_t = torch.tensor(alphas, dtype: x.dtype, device: x.device);
        var weight_t = torch.tensor(weights, dtype: x.dtype, device: x.device);
        var total = torch.zeros_like(x);
        var view = new long[x.dim()]; Array.Fill(view, 1L); view[0] = -1;

        for (long start = 0; start < rows; start += chunk) {
            using var inner = torch.NewDisposeScope();
            long end = Math.Min(rows, start + chunk);
            // Row r is step r / N of example r % N (step-major, as Captum expands).
            var exs = new long[end - start];
            var steps = new long[end - start];
            for (long i = start; i < end; i++) (exs[i - start], steps[i - start]) = (i % n, i / n);
            var ex = torch.tensor(exs, device: x.device);
            var st = torch.tensor(steps, device: x.device);
            var a = alpha_t.index_select(0, st).view(view);
            var xs = x0.index_select(0, ex).add_tensor(a * diff.index_select(0, ex));
            var (g, _) = Gradients.input_gradients(model, xs, target.for_rows(exs));
            total.index_add_tensor_(0, ex, g * weight_t.index_select(0, st).view(view));
        }
        var attributions = total * diff;

        Tensor delta;
        using (torch.no_grad()) {
            var ends = torch.cat(new[] { x, x0 });
            var both = target is Target.PerExample p ? new Target.PerExample(p.Indices.Concat(p.Indices).ToArray()) : target;
            var s = Gradients.forward_scores(model, ends, both);
            delta = attributions.reshape(n, -1).sum(1) - (s.narrow(0, 0, n) - s.narrow(0, n, n));
        }
        return new IntegratedGradientsResult(attributions.MoveToOuterDisposeScope(), delta.MoveToOuterDisposeScope());
    }
}
