using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Attribution;

/// <summary>
/// Occlusion (Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014): a window of
/// <see cref="WindowHeight"/>×<see cref="WindowWidth"/> pixels (all channels) slides over the image with the given
/// strides and is replaced by <see cref="Baseline"/>; each element's attribution is the mean, over the windows that
/// cover it, of score(x) − score(x with the window occluded). Elements no window covers get 0. No gradients:
/// one forward pass per window position, under <c>no_grad</c>.
/// </summary>
/// <example><code>
/// var occ = new Occlusion(model) { WindowHeight = 16, WindowWidth = 16, StrideHeight = 8, StrideWidth = 8 };
/// using var a = occ.attribute(x, Target.Classes(y));   // N×C×H×W (the same value in every channel)
/// </code></example>
public sealed class Occlusion(nn.Module<Tensor, Tensor> model) : IAttribution
{
    public long WindowHeight { get; init; } = 8;
    public long WindowWidth { get; init; } = 8;
    public long StrideHeight { get; init; } = 4;
    public long StrideWidth { get; init; } = 4;
    /// <summary>The value the occluded pixels take (0 is the dataset mean for normalised inputs).</summary>
    public double Baseline { get; init; } = 0.0;
    /// <summary>Occluded copies run through the model this many at a time.</summary>
    public int BatchSize { get; init; } = 32;

    public Tensor attribute(Tensor inputs, Target target)
    {
        Gradients.check_batch(inputs, nameof(Occlusion));
        if (inputs.dim() != 4) throw new ArgumentException($"Occlusion: inputs must be N×C×H×W, got [{string.Join(",", inputs.shape)}].");
        long n = inputs.shape[0], h = inputs.shape[2], w = inputs.shape[3];
        if (WindowHeight < 1 || WindowWidth < 1 || WindowHeight > h || WindowWidth > w)
            throw new ArgumentOutOfRangeException(nameof(WindowHeight), $"Occlusion: window {WindowHeight}×{WindowWidth} must be at least 1×1 and fit the {h}×{w} image.");
        if (StrideHeight < 1 || StrideWidth < 1) throw new ArgumentOutOfRangeException(nameof(StrideHeight), $"Occlusion: strides must be at least 1, got {StrideHeight}×{StrideWidth}.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"Occlusion: BatchSize must be at least 1, got {BatchSize}.");
        if (target.LayerName is not null) throw new ArgumentException($"Occlusion: the target must read the model output, not layer '{target.LayerName}'.");

        using var guard = new ModelGuard(model);
        using var scope = torch.NewDisposeScope();
        using var no = torch.no_grad();
        var x = inputs.detach();
        var windows = new List<(long top, long left)>();
        for (long top = 0; top + WindowHeight <= h; top += StrideHeight)
            for (long left = 0; left + WindowWidth <= w; left += StrideWidth)
                windows.Add((top, left));

        var sum = torch.zeros(n, 1, h, w, dtype: x.dtype, device: x.device);
        var count = torch.zeros(1, 1, h, w, dtype: x.dtype, device: x.device);
        foreach (var (top, left) in windows)
            count[.., .., TensorIndex.Slice(top, top + WindowHeight), TensorIndex.Slice(left, left + WindowWidth)].add_scalar_(1);
        for (long i = 0; i < n; i++) {
            var one = x[i].unsqueeze(0);
            var rows0 = new long[] { i };
            var full = target.for_rows(rows0).scores(model.call(one), new Dictionary<string, Tensor>(), 1);
            for (int w0 = 0; w0 < windows.Count; w0 += BatchSize) {
                using var s = torch.NewDisposeScope();
                var part = windows.Skip(w0).Take(BatchSize).ToList();
                var batch = one.repeat(part.Count, 1, 1, 1);
                for (int j = 0; j < part.Count; j++)
                    batch[j, .., TensorIndex.Slice(part[j].top, part[j].top + WindowHeight), TensorIndex.Slice(part[j].left, part[j].left + WindowWidth)].fill_scalar_(Baseline);
                var rows = Enumerable.Repeat(i, part.Count).ToArray();
                var drop = full - target.for_rows(rows).scores(model.call(batch), new Dictionary<string, Tensor>(), part.Count);
                for (int j = 0; j < part.Count; j++)
                    sum[i, .., TensorIndex.Slice(part[j].top, part[j].top + WindowHeight), TensorIndex.Slice(part[j].left, part[j].left + WindowWidth)].add_tensor_(drop[j]);
            }
        }
        var mean = sum / count.clamp_scalar(1, null);
        return mean.expand(n, x.shape[1], h, w).contiguous().MoveToOuterDisposeScope();
    }
}
