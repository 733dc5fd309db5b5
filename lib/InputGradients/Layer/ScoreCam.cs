using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Layer;

/// <summary>
/// Score-CAM (Wang et al., "Score-CAM: Score-Weighted Visual Explanations for CNNs", CVPR workshops 2020), with
/// pytorch-grad-cam's definition of the weights: each channel A_k is upsampled to the input size (bilinear,
/// <c>align_corners=true</c>, as <c>UpsamplingBilinear2d</c>), min-max scaled to [0, 1] (plus 1e-8 in the
/// denominator), multiplied into the input, and the model's target score of each masked input is taken;
/// the weights are the softmax of those scores over the K channels. No gradients: K forward passes per example.
/// </summary>
/// <example><code>
/// using var heat = new ScoreCam(model, "features.3") { BatchSize = 32 }.cam(x, Target.Classes(y));
/// </code></example>
public sealed class ScoreCam(nn.Module<Tensor, Tensor> model, string layer) : BaseCam(model, layer)
{
    /// <summary>Masked inputs run through the model this many at a time.</summary>
    public int BatchSize { get; init; } = 16;

    protected override bool uses_gradients => false;

    protected override Tensor get_cam_weights(Tensor inputs, Target target, Tensor activations, Tensor? gradients)
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"ScoreCam: BatchSize must be at least 1, got {BatchSize}.");
        if (target.LayerName is not null) throw new ArgumentException($"ScoreCam: the target must read the model output, not layer '{target.LayerName}'.");
        using var no = torch.no_grad();
        long n = activations.shape[0], k = activations.shape[1];
        var up = nn.functional.interpolate(activations, new[] { inputs.shape[^2], inputs.shape[^1] },
            mode: InterpolationMode.Bilinear, align_corners: true);
        var flat = up.reshape(n, k, -1);
        var mins = flat.amin(new long[] { 2 }).reshape(n, k, 1, 1);
        var maxs = flat.amax(new long[] { 2 }).reshape(n, k, 1, 1);
        var masks = (up - mins) / (maxs - mins).add_scalar(1e-8);
        var scores = torch.empty(n, k, dtype: inputs.dtype, device: inputs.device);
        for (long i = 0; i < n; i++) {
            var one = inputs[i].unsqueeze(0);
            for (long c0 = 0; c0 < k; c0 += BatchSize) {
                using var s = torch.NewDisposeScope();
                long c1 = Math.Min(k, c0 + BatchSize);
                var masked = one * masks[i].slice(0, c0, c1, 1).unsqueeze(1);
                var rows = Enumerable.Repeat(i, (int)(c1 - c0)).ToArray();
                var output = Model.call(masked);
                scores[i].slice(0, c0, c1, 1).copy_(target.for_rows(rows).scores(output, new Dictionary<string, Tensor>(), c1 - c0));
            }
        }
        return scores.softmax(1).reshape(n, k, 1, 1);
    }
}
