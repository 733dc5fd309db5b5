using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Attribution;

/// <summary>
/// SmoothGrad (Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017): the mean of an attribution
/// over copies of the input with Gaussian noise of standard deviation NoiseLevel·(max − min) of each example.
/// </summary>
/// <example><code>
/// var sg = new SmoothGrad(new Saliency(model) { Abs = false }) { Samples = 50, NoiseLevel = 0.15, Seed = 1 };
/// using var a = sg.attribute(x, Target.Classes(y));   // N×C×H×W
/// </code></example>
public sealed class SmoothGrad(IAttribution inner) : IAttribution
{
    public int Samples { get; init; } = 50;
    /// <summary>σ / (x_max − x_min) per example (the paper's "noise level", 10–20% works well).</summary>
    public double NoiseLevel { get; init; } = 0.15;
    /// <summary>Seed of the noise generator: the same seed gives the same result, batched or one example at a time.</summary>
    public long Seed { get; init; } = 0;
    /// <summary>Average the squared attributions (SmoothGrad-Squared) instead.</summary>
    public bool Squared { get; init; }

    public Tensor attribute(Tensor inputs, Target target)
    {
        Gradients.check_batch(inputs, nameof(SmoothGrad));
        if (Samples < 1) throw new ArgumentOutOfRangeException(nameof(Samples), "SmoothGrad needs at least one sample.");
        using var scope = torch.NewDisposeScope();
        var x = inputs.detach();
        var flat = x.reshape(x.shape[0], -1);
        var view = new long[x.dim()]; Array.Fill(view, 1L); view[0] = -1;
        var sigma = (flat.amax(new long[] { 1 }) - flat.amin(new long[] { 1 })).mul_scalar(NoiseLevel).view(view);
        using var gen = new torch.Generator((ulong)Seed, x.device);
        Tensor? sum = null;
        for (int s = 0; s < Samples; s++) {
            using var inner_scope = torch.NewDisposeScope();
            // One noise draw per sample, shared by the examples of the batch, so that an example's result does not
            // depend on the rest of its batch (batched == one at a time).
            var shape = (long[])x.shape.Clone(); shape[0] = 1;
            var noisy = x.add_tensor(torch.randn(shape, dtype: x.dtype, device: x.device, generator: gen) * sigma);
            var a = inner.attribute(noisy, target);
            if (Squared) a = a * a;
            if (sum is null) sum = a.MoveToOuterDisposeScope();
            else sum.add_tensor_(a);
        }
        return sum!.div_scalar(Samples).MoveToOuterDisposeScope();
    }
}
