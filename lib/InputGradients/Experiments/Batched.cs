using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>Evaluation in batches, shared by the experiments that run a network over many images.</summary>
static class Batched
{
    /// <summary>
    /// <paramref name="f"/> on consecutive slices of <paramref name="x"/> (along dim 0) of at most
    /// <paramref name="batchSize"/>, without gradients, reporting (done, total) after each slice; the results concatenated.
    /// </summary>
    public static Tensor Map(Tensor x, int batchSize, Func<Tensor, Tensor> f, IProgress<(int Done, int Total)>? progress)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int n = (int)x.shape[0];
        var parts = new List<Tensor>();
        for (int i = 0; i < n; i += batchSize)
        {
            int len = Math.Min(batchSize, n - i);
            parts.Add(f(x.narrow(0, i, len)));
            progress?.Report((i + len, n));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }
}
