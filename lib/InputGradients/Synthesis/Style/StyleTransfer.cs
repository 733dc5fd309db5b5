using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis.Style;

/// <summary>How the pixels are optimised.</summary>
public enum StyleOptimizer
{
    /// <summary>The original assignment's schedule: Adam at a high rate, decayed late, pixels clamped until near the end.</summary>
    Adam,
    /// <summary>L-BFGS, as Gatys et al. used; usually reaches a lower loss in fewer iterations.</summary>
    LBFGS,
}

/// <summary>
/// Settings of one style-transfer run. Layer names are taps of the model (see <see cref="ITappable"/>) or
/// submodule names. Weights follow the original assignment: the content loss is <c>w_c Σ(F−P)²</c>, the style loss
/// <c>Σ_l w_l Σ(G_l−A_l)²</c> with normalised Gram matrices, the TV loss <c>w_t Σ(Δx)²</c>.
/// </summary>
public sealed record StyleTransferOptions
{
    public required string ContentLayer { get; init; }
    public required double ContentWeight { get; init; }
    public required IReadOnlyList<string> StyleLayers { get; init; }
    public required IReadOnlyList<double> StyleWeights { get; init; }
    public required double TvWeight { get; init; }
    /// <summary>
    /// Divide the content loss by the number of elements of its target (C·H·W of the content features) and each
    /// style layer's loss by that of its Gram matrix (C²), so that the weights no longer depend on layer sizes:
    /// <c>w_c/|P| Σ(F−P)²</c> and <c>Σ_l w_l/C_l² Σ(G_l−A_l)²</c>. Off by default (the original's definitions).
    /// </summary>
    public bool NormalizeBySize { get; init; }

    public int Iterations { get; init; } = 200;
    public StyleOptimizer Optimizer { get; init; } = StyleOptimizer.Adam;
    /// <summary>Adam: initial learning rate (3.0 in the original, in its input units); L-BFGS: its step length (1).</summary>
    public double LearningRate { get; init; } = 3.0;
    /// <summary>Adam: the learning rate from <see cref="DecayAt"/> on.</summary>
    public double DecayedLearningRate { get; init; } = 0.1;
    public int DecayAt { get; init; } = 180;
    /// <summary>Pixels are clamped to the valid range after each step until this iteration (the original: 190).</summary>
    public int ClampUntil { get; init; } = 190;
    /// <summary>Start from uniform noise over the valid range instead of the content image (feature inversion, textures).</summary>
    public bool InitRandom { get; init; }
    public long Seed { get; init; } = 0;
    /// <summary>Iterations after which the current image is kept as a frame (the original showed 0, 100 and 199).</summary>
    public IReadOnlyList<int> FrameAt { get; init; } = [0, 100, 199];

    /// <summary>
    /// The weights a run passes to the assignment's <see cref="StyleLosses.content_loss"/> and
    /// <see cref="StyleLosses.style_loss"/>: these options' weights, or with <see cref="NormalizeBySize"/>
    /// <c>w_c / (C·H·W)</c> for the content layer and <c>w_l / C_l²</c> for each style layer (a Gram matrix is C_l×C_l).
    /// So a normalised run minimises exactly the checked losses, with these weights.
    /// </summary>
    /// <param name="contentShape">Shape of the content layer's features, 1×C×H×W.</param>
    /// <param name="styleChannels">Channels C_l of each style layer (null when every style weight is 0).</param>
    public (double Content, IReadOnlyList<double> Style) AssignmentWeights(IReadOnlyList<long> contentShape, IReadOnlyList<long>? styleChannels)
    {
        if (!NormalizeBySize) return (ContentWeight, StyleWeights.ToList());
        if (styleChannels is not null && styleChannels.Count != StyleWeights.Count)
            throw new ArgumentException($"AssignmentWeights: {styleChannels.Count} style layers' channel counts for {StyleWeights.Count} style weights.");
        double size = contentShape.Aggregate(1L, (a, b) => a * b);
        var style = styleChannels is null
            ? StyleWeights.ToList()
            : StyleWeights.Select((w, l) => w / ((double)styleChannels[l] * styleChannels[l])).ToList();
        return (ContentWeight / size, style);
    }
}

/// <summary>
/// One loss term at an image: the normalised weight <paramref name="Weight"/>, the size factor (1/(C·H·W) for the
/// content, 1/C² for a style layer), the resulting weight of the assignment's loss, and the term computed as the
/// assignment's loss with that weight and as the normalised mean form.
/// </summary>
public sealed record LossTerm(string Loss, string Layer, string FeatureShape, double Weight, double Factor, double AssignmentWeight,
    double AssignmentLoss, double NormalisedLoss)
{
    /// <summary>|assignment − normalised| / max(|assignment|, |normalised|, 1e-30): 0 when the two forms agree.</summary>
    public double RelativeDifference =>
        Math.Abs(AssignmentLoss - NormalisedLoss) / Math.Max(Math.Max(Math.Abs(AssignmentLoss), Math.Abs(NormalisedLoss)), 1e-30);
}

/// <summary>Progress of a run: iteration (1-based count done), total, and the loss terms of the last step.</summary>
public readonly record struct StyleProgress(int Iteration, int Total, double Content, double Style, double Tv)
{
    public double Loss => Content + Style + Tv;
}

/// <summary>The optimised image and the frames kept along the way, in the model's input space. Dispose it.</summary>
public sealed class StyleTransferResult : IDisposable
{
    public required Tensor Image { get; init; }
    public required IReadOnlyList<(int Iteration, Tensor Image)> Frames { get; init; }
    public required IReadOnlyList<StyleProgress> History { get; init; }

    public void Dispose()
    {
        Image.Dispose();
        foreach (var (_, frame) in Frames) frame.Dispose();
    }
}

/// <summary>
/// Neural style transfer (Gatys et al. 2016) by optimising the pixels of an image so that its features at a
/// content layer match a content image and the Gram matrices of its features at style layers match a style image.
/// With all style weights 0 and a random start it is feature inversion (Mahendran and Vedaldi 2015); with the content
/// weight 0 and a random start it is texture synthesis (Gatys et al. 2015).
/// </summary>
/// <remarks>
/// Images are 1×C×H×W tensors in the model's input space (for the ImageNet ResNet-18 backbone: BGR minus the mean,
/// 0-255 scale). <paramref name="pixel_min"/> and <paramref name="pixel_max"/> (broadcastable to 1×C×1×1) give
/// the valid range there, used for clamping and for the random start.
/// </remarks>
public sealed class StyleTransfer(nn.Module<Tensor, Tensor> model, Tensor pixel_min, Tensor pixel_max)
{
    /// <summary>Runs style transfer. <paramref name="style_image"/> may be null when every style weight is 0.</summary>
    public StyleTransferResult run(Tensor content_image, Tensor? style_image, StyleTransferOptions o, IProgress<StyleProgress>? progress = null)
    {
        Validate(content_image, style_image, o);
        using var guard = new ModelGuard(model); // frozen weights, training flag restored afterwards
        model.eval();
        var frames = new List<(int, Tensor)>();
        var history = new List<StyleProgress>();
        using var outer = NewDisposeScope();

        var styleActive = o.StyleWeights.Any(w => w != 0);
        var layers = o.StyleLayers.Append(o.ContentLayer).Distinct().ToArray();
        Tensor contentTarget;
        List<Tensor> styleTargets = [];
        using (no_grad())
        {
            contentTarget = LayerTaps.run(model, content_image, false, o.ContentLayer).layers[o.ContentLayer].detach();
            if (styleActive)
            {
                var taps = LayerTaps.run(model, style_image!, false, [.. o.StyleLayers]).layers;
                styleTargets = o.StyleLayers.Select(l => StyleLosses.gram_matrix(taps[l]).detach()).ToList();
            }
        }

        var (contentWeight, styleWeights) = o.AssignmentWeights(contentTarget.shape,
            styleActive ? styleTargets.Select(t => t.shape[^1]).ToList() : null);

        var lo = pixel_min.to(content_image.dtype);
        var hi = pixel_max.to(content_image.dtype);
        Tensor start;
        if (o.InitRandom)
        {
            using var generator = new Generator((ulong)o.Seed);
            start = lo.add_tensor((hi - lo) * rand(content_image.shape, dtype: content_image.dtype, generator: generator));
        }
        else start = content_image.clone();
        // The optimisers take Parameters; the image is the only one.
        var img = new TorchSharp.Modules.Parameter(start.detach(), requires_grad: true);

        (Tensor total, StyleProgress parts) Loss(int iteration)
        {
            var taps = LayerTaps.run(model, img, false, layers).layers;
            var content = StyleLosses.content_loss(contentWeight, taps[o.ContentLayer], contentTarget);
            var style = styleActive
                ? StyleLosses.style_loss_symmetric(o.StyleLayers.Select(l => taps[l]).ToList(), styleTargets, styleWeights)
                : zeros(1, dtype: img.dtype).sum();
            var tv = StyleLosses.tv_loss(img, o.TvWeight);
            return (content.add_tensor(style).add_tensor(tv), new StyleProgress(iteration, o.Iterations, content.to_double(), style.to_double(), tv.to_double()));
        }

        void Keep(int iteration)
        {
            if (o.FrameAt.Contains(iteration)) frames.Add((iteration, img.detach().clone().MoveToOuterDisposeScope()));
        }

        if (o.Optimizer == StyleOptimizer.Adam)
        {
            using var optimizer = new Adam([img], o.LearningRate);
            for (var t = 0; t < o.Iterations; t++)
            {
                using var step = NewDisposeScope();
                if (t == o.DecayAt) optimizer.lr = o.DecayedLearningRate;
                var (loss, parts) = Loss(t + 1);
                optimizer.step([.. autograd.grad([loss], [img])]);
                if (t < o.ClampUntil)
                    using (no_grad()) img.copy_(torch.max(torch.min(img, hi), lo));
                history.Add(parts);
                progress?.Report(parts);
                Keep(t);
            }
        }
        else
        {
            // L-BFGS takes several function evaluations per step; count evaluations as iterations.
            using var optimizer = optim.LBFGS([img], lr: o.LearningRate, max_iter: 1, history_size: 50);
            for (var t = 0; t < o.Iterations; t++)
            {
                using var step = NewDisposeScope();
                StyleProgress parts = default;
                optimizer.step(() =>
                {
                    optimizer.zero_grad();
                    var (loss, p) = Loss(t + 1);
                    loss.backward();
                    parts = p;
                    return loss;
                });
                if (t < o.ClampUntil)
                    using (no_grad()) img.copy_(torch.max(torch.min(img, hi), lo));
                history.Add(parts);
                progress?.Report(parts);
                Keep(t);
            }
        }

        var result = img.detach().clone().MoveToOuterDisposeScope();
        // Frames were moved out of each step's scope into this method's; hand them on to the caller's.
        var kept = frames.Select(f => (f.Item1, f.Item2.MoveToOuterDisposeScope())).ToList();
        return new StyleTransferResult { Image = result, Frames = kept, History = history };
    }

    /// <summary>
    /// Each loss term of <paramref name="o"/> at the image <paramref name="current"/>, computed twice: as the assignment's
    /// loss (<see cref="StyleLosses.content_loss"/>, <see cref="StyleLosses.style_loss"/>) with the weights a run uses
    /// (<see cref="StyleTransferOptions.AssignmentWeights"/>), and independently as the size-normalised form
    /// <c>w · mean((F − P)²)</c> or <c>w_l · mean((G_l − A_l)²)</c>. With <see cref="StyleTransferOptions.NormalizeBySize"/>
    /// the two agree, which shows that a normalised run minimises the checked losses.
    /// </summary>
    public IReadOnlyList<LossTerm> loss_terms(Tensor current, Tensor content_image, Tensor? style_image, StyleTransferOptions o)
    {
        Validate(content_image, style_image, o);
        if (!o.NormalizeBySize) throw new ArgumentException("loss_terms compares the normalised form with the checked losses: set NormalizeBySize.");
        using var guard = new ModelGuard(model);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var styleActive = o.StyleWeights.Any(w => w != 0);
        var now = LayerTaps.run(model, current, false, [.. o.StyleLayers.Append(o.ContentLayer).Distinct()]).layers;
        var target = LayerTaps.run(model, content_image, false, o.ContentLayer).layers[o.ContentLayer];
        var grams = styleActive
            ? LayerTaps.run(model, style_image!, false, [.. o.StyleLayers]).layers
                .ToDictionary(kv => kv.Key, kv => StyleLosses.gram_matrix(kv.Value))
            : [];
        var (contentWeight, styleWeights) = o.AssignmentWeights(target.shape, styleActive ? o.StyleLayers.Select(l => grams[l].shape[^1]).ToList() : null);

        static string Shape(Tensor t) => string.Join("×", t.shape.Skip(1));
        var terms = new List<LossTerm>
        {
            new("content", o.ContentLayer, Shape(target), o.ContentWeight, 1.0 / target.numel(), contentWeight,
                StyleLosses.content_loss(contentWeight, now[o.ContentLayer], target).to_double(),
                o.ContentWeight * (now[o.ContentLayer] - target).to_type(ScalarType.Float64).pow_scalar(2).mean().to_double()),
        };
        if (styleActive)
            for (var l = 0; l < o.StyleLayers.Count; l++)
            {
                var layer = o.StyleLayers[l];
                var a = grams[layer];
                var g = StyleLosses.gram_matrix(now[layer]);
                terms.Add(new("style", layer, Shape(now[layer]), o.StyleWeights[l], 1.0 / a.numel(), styleWeights[l],
                    StyleLosses.style_loss([now[layer]], [a], [styleWeights[l]]).to_double(),
                    o.StyleWeights[l] * (g - a).to_type(ScalarType.Float64).pow_scalar(2).mean().to_double()));
            }
        return terms;
    }

    static void Validate(Tensor content, Tensor? style, StyleTransferOptions o)
    {
        if (content.dim() != 4 || content.shape[0] != 1)
            throw new ArgumentException($"StyleTransfer: the content image must be 1×C×H×W, got [{string.Join(",", content.shape)}].");
        if (o.StyleLayers.Count != o.StyleWeights.Count)
            throw new ArgumentException($"StyleTransfer: {o.StyleLayers.Count} style layers but {o.StyleWeights.Count} style weights.");
        if (o.StyleWeights.Any(w => w != 0) && style is null)
            throw new ArgumentException("StyleTransfer: a style image is needed when any style weight is non-zero.");
        if (style is not null && (style.dim() != 4 || style.shape[0] != 1 || style.shape[1] != content.shape[1]))
            throw new ArgumentException($"StyleTransfer: the style image must be 1×{content.shape[1]}×H×W, got [{string.Join(",", style.shape)}].");
        if (o.Iterations < 1) throw new ArgumentException("StyleTransfer: Iterations must be at least 1.");
    }
}
