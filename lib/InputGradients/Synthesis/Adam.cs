using InputGradients.Core;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>
/// Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) computed as PyTorch's
/// <c>torch.optim.Adam</c> computes it, without weight decay or AMSGrad:
/// <c>m ← β₁m + (1 − β₁)g</c>, <c>v ← β₂v + (1 − β₂)g²</c>,
/// <c>p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)</c>; with <see cref="maximize"/> the step goes up the gradient.
/// <para>
/// Written out rather than TorchSharp's <c>optim.Adam</c>: that one hands libtorch numbers whose Scalars nothing holds
/// (see <see cref="HeldScalars"/>), and keeps its state in tensors that are hard to account for. This one works on
/// plain tensors, owns its state and disposes it. Checked step by step against PyTorch 1.13 (<c>AdamTests</c>).
/// </para>
/// </summary>
public sealed class Adam : IDisposable
{
    readonly IReadOnlyList<Tensor> parameters;
    readonly List<(Tensor m, Tensor v)> state = new();

    /// <param name="parameters">Tensors updated in place by <see cref="step"/>.</param>
    /// <param name="lr">Learning rate; may be changed between steps (<see cref="lr"/>).</param>
    public Adam(IReadOnlyList<Tensor> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, bool maximize = false)
    {
        if (!(lr > 0)) throw new ArgumentOutOfRangeException(nameof(lr), $"Adam: the learning rate must be positive, got {lr}.");
        if (!(beta1 is >= 0 and < 1) || !(beta2 is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam: betas must lie in [0, 1), got ({beta1}, {beta2}).");
        (this.parameters, this.lr, this.beta1, this.beta2, this.eps, this.maximize) = (parameters, lr, beta1, beta2, eps, maximize);
    }

    public double lr { get; set; }
    public double beta1 { get; }
    public double beta2 { get; }
    public double eps { get; }
    public bool maximize { get; }

    /// <summary>Steps taken so far (PyTorch's <c>state["step"]</c>).</summary>
    public int steps { get; private set; }

    /// <summary>One step with <paramref name="grads"/>[i] the gradient of the objective for parameter i.</summary>
    public void step(IReadOnlyList<Tensor> grads)
    {
        if (grads.Count != parameters.Count)
            throw new ArgumentException($"Adam: {grads.Count} gradients for {parameters.Count} parameters.", nameof(grads));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        steps++;
        double c1 = 1 - Math.Pow(beta1, steps), c2 = 1 - Math.Pow(beta2, steps);
        for (int i = 0; i < parameters.Count; i++) {
            var g = grads[i];
            if (state.Count <= i) state.Add((zeros_like(g).DetachFromDisposeScope(), zeros_like(g).DetachFromDisposeScope()));
            var (m, v) = state[i];
            m.mul_scalar_(beta1).add_tensor_(g, 1 - beta1);
            v.mul_scalar_(beta2).addcmul_scalar_(g, g, 1 - beta2);
            var denom = v.sqrt().div_scalar(Math.Sqrt(c2)).add_scalar_(eps);
            parameters[i].addcdiv_scalar_(m, denom, (maximize ? 1 : -1) * lr / c1);
        }
    }

    public void Dispose()
    {
        foreach (var (m, v) in state) { m.Dispose(); v.Dispose(); }
        state.Clear();
    }
}
