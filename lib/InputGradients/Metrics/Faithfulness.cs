using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Metrics;

/// <summary>A faithfulness curve per example: the target score after each step, at the fractions of pixels
/// changed, and its area (trapezoid rule on [0, 1]).</summary>
public sealed record FaithfulnessCurve(string Name, double[] Fractions, double[][] Scores)
{
    /// <summary>Area under each example's curve (RISE's <c>auc</c>: trapezoid rule with equal steps).</summary>
    public double[] Area => Scores.Select(Faithfulness.area).ToArray();
}

/// <summary>ROAD's two curves (Rong et al. 2022): the score after removing and imputing the most relevant
/// (MoRF) or least relevant (LeRF) pixels, at each removal fraction.</summary>
public sealed record RoadResult(double[] Fractions, double[][] MoRF, double[][] LeRF)
{
    /// <summary>Per example: mean LeRF score minus mean MoRF score. Larger is more faithful (removing what the map
    /// calls important hurts more than removing what it calls unimportant).</summary>
    public double[] Gap => MoRF.Zip(LeRF, (m, l) => l.Average() - m.Average()).ToArray();
}

/// <summary>
/// Does a map rank pixels by how much the model needs them? Deletion and insertion (Petsiuk, Das, Saenko, "RISE",
/// BMVC 2018) and ROAD with noisy linear imputation (Rong, Leemann, Borisov, Kasneci, Kasneci, "A Consistent and
/// Efficient Evaluation Strategy for Attribution Methods", ICML 2022). Maps may come from any method
/// (N×H×W or N×C×H×W, channels summed; see <see cref="PixelMaps.per_pixel"/>). The score is any <see cref="Target"/>:
/// a class (softmax probability by default, see <see cref="Probability"/>), or the raw value of an output or layer
/// score, e.g. <c>Target.Channel("layer4", k)</c> on the ResNet-18 backbone.
/// </summary>
/// <example><code>
/// var f = new Faithfulness(model) { PixelsPerStep = 64 };
/// var del = f.deletion(x, maps, Target.Classes(y));        // lower area = more faithful
/// var ins = f.insertion(x, maps, Target.Classes(y));       // higher area = more faithful
/// var road = f.road(x, maps, Target.Classes(y));           // road.Gap: higher = more faithful
/// var ch = f.deletion(x, maps, Target.Channel("layer4", 42)); // raw mean activation of a backbone channel
/// </code></example>
public sealed class Faithfulness(nn.Module<Tensor, Tensor> model)
{
    /// <summary>Pixels changed per step of the deletion and insertion curves (RISE used the image width).</summary>
    public long PixelsPerStep { get; init; } = 64;
    /// <summary>Score the softmax probability of the target class (as both papers) instead of the raw logit. Applies only
    /// to class targets (<see cref="Target.ClassIndex"/>, <see cref="Target.PerExample"/>); any other target (a layer
    /// score such as <see cref="Target.Channel"/> on a backbone with no class head, or an output score) is scored by its
    /// raw value, since there is no softmax over it.</summary>
    public bool Probability { get; init; } = true;
    /// <summary>Images run through the model this many at a time.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>ROAD: the fractions of pixels removed.</summary>
    public double[] RoadFractions { get; init; } = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9 };
    /// <summary>ROAD: standard deviation of the Gaussian noise added to each imputed value (absolute, as ROAD's code).</summary>
    public double RoadNoise { get; init; } = 0.01;
    /// <summary>Seed of the ROAD noise.</summary>
    public long Seed { get; init; } = 0;

    /// <summary>Deletion: the most important pixels (all channels) are replaced by <paramref name="substrate"/>
    /// (default zeros, as RISE), <see cref="PixelsPerStep"/> at a time; a faithful map makes the score fall fast.</summary>
    public FaithfulnessCurve deletion(Tensor inputs, Tensor maps, Target target, Tensor? substrate = null) =>
        curve("deletion", inputs, maps, target, substrate, insert: false);

    /// <summary>Insertion: starting from <paramref name="substrate"/> (default: the image blurred with
    /// <see cref="gaussian_blur"/> 11, σ 5, as RISE), the most important pixels are put back first; a faithful map
    /// makes the score rise fast.</summary>
    public FaithfulnessCurve insertion(Tensor inputs, Tensor maps, Target target, Tensor? substrate = null) =>
        curve("insertion", inputs, maps, target, substrate, insert: true);

    FaithfulnessCurve curve(string name, Tensor inputs, Tensor maps, Target target, Tensor? substrate, bool insert)
    {
        var (n, h, w) = check(inputs, maps, target, name);
        if (PixelsPerStep < 1) throw new ArgumentOutOfRangeException(nameof(PixelsPerStep), $"{name}: PixelsPerStep must be at least 1, got {PixelsPerStep}.");
        if (substrate is not null && !substrate.shape.SequenceEqual(inputs.shape))
            throw new ArgumentException($"{name}: the substrate has shape [{string.Join(",", substrate.shape)}], the inputs [{string.Join(",", inputs.shape)}].");
        using var guard = new ModelGuard(model);
        using var scope = torch.NewDisposeScope();
        using var no = torch.no_grad();
        var x = inputs.detach();
        var sub = substrate?.detach().to_type(x.dtype) ?? (insert ? gaussian_blur(x, 11, 5.0) : torch.zeros_like(x));
        var pix = PixelMaps.per_pixel(maps, name);
        long hw = h * w, steps = (hw + PixelsPerStep - 1) / PixelsPerStep;
        var fractions = Enumerable.Range(0, (int)steps + 1).Select(i => (double)i / steps).ToArray();
        var scores = new double[n][];
        for (long i = 0; i < n; i++) {
            using var s = torch.NewDisposeScope();
            var rank = rank_of(PixelMaps.row(pix, i), h, w, x.device);
            // Step k has changed the pixels of rank below k·PixelsPerStep.
            var counts = Enumerable.Range(0, (int)steps + 1).Select(k => Math.Min(hw, k * PixelsPerStep)).ToArray();
            scores[i] = score_states(x[i], sub[i], rank, counts, insert, target, i);
        }
        return new FaithfulnessCurve(name, fractions, scores);
    }

    /// <summary>ROAD: for each fraction p, the ⌊p·H·W + ½⌋ most (MoRF) or least (LeRF) relevant pixels are removed
    /// and filled by <see cref="NoisyLinearImputer"/>; the score of each imputed image.</summary>
    public RoadResult road(Tensor inputs, Tensor maps, Target target)
    {
        var (n, h, w) = check(inputs, maps, target, "road");
        foreach (var p in RoadFractions)
            if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(RoadFractions), $"road: fractions must lie strictly between 0 and 1, got {p}.");
        using var guard = new ModelGuard(model);
        using var scope = torch.NewDisposeScope();
        using var no = torch.no_grad();
        var x = inputs.detach();
        var pix = PixelMaps.per_pixel(maps, "road");
        var imputer = new NoisyLinearImputer { Noise = RoadNoise };
        var gen = new torch.Generator((ulong)Seed);
        long hw = h * w;
        var counts = RoadFractions.Select(p => (long)Math.Floor(p * hw + 0.5)).ToArray();
        var morf = new double[n][]; var lerf = new double[n][];
        for (long i = 0; i < n; i++) {
            var order = PixelMaps.ranking(PixelMaps.row(pix, i));
            foreach (var most in new[] { true, false }) {
                using var s = torch.NewDisposeScope();
                var images = new List<Tensor>();
                foreach (var k in counts) {
                    var removed = new bool[hw];
                    for (long r = 0; r < k; r++) removed[most ? order[r] : order[hw - 1 - r]] = true;
                    images.Add(imputer.impute(x[i], removed, gen));
                }
                var result = score_batch(torch.stack(images), target, i);
                if (most) morf[i] = result; else lerf[i] = result;
            }
        }
        return new RoadResult(RoadFractions.ToArray(), morf, lerf);
    }

    /// <summary>Area under a curve of equally spaced scores on [0, 1]: (Σs − s₀/2 − s_last/2)/(count − 1).</summary>
    public static double area(double[] scores)
    {
        if (scores.Length < 2) throw new ArgumentException($"area: a curve needs at least 2 points, got {scores.Length}.");
        return (scores.Sum() - scores[0] / 2 - scores[^1] / 2) / (scores.Length - 1);
    }

    /// <summary>Gaussian blur per channel with a <paramref name="size"/>×<paramref name="size"/> kernel
    /// exp(−d²/2σ²) normalised to sum 1, zero padding (RISE's insertion substrate).</summary>
    public static Tensor gaussian_blur(Tensor images, int size, double sigma)
    {
        if (images.dim() != 4) throw new ArgumentException($"gaussian_blur: expected N×C×H×W images, got [{string.Join(",", images.shape)}].");
        if (size < 1 || size % 2 == 0 || sigma <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"gaussian_blur: size must be odd and positive and sigma positive, got {size}, {sigma}.");
        using var scope = torch.NewDisposeScope();
        var r = size / 2;
        var k1 = Enumerable.Range(-r, size).Select(d => Math.Exp(-d * d / (2 * sigma * sigma))).ToArray();
        var total = k1.Sum() * k1.Sum();
        var k2 = new double[size * size];
        for (int a = 0; a < size; a++) for (int b = 0; b < size; b++) k2[a * size + b] = k1[a] * k1[b] / total;
        long c = images.shape[1];
        var kernel = torch.tensor(k2, dtype: images.dtype, device: images.device).reshape(1, 1, size, size).repeat(c, 1, 1, 1);
        return nn.functional.conv2d(images, kernel, padding: new long[] { r, r }, groups: c).MoveToOuterDisposeScope();
    }

    static Tensor rank_of(double[] map, long h, long w, Device device)
    {
        var order = PixelMaps.ranking(map);
        var rank = new long[order.Length];
        for (long r = 0; r < order.Length; r++) rank[order[r]] = r;
        return torch.tensor(rank, device: device).reshape(1, 1, h, w);
    }

    double[] score_states(Tensor x, Tensor sub, Tensor rank, long[] counts, bool insert, Target target, long example)
    {
        var result = new List<double>();
        for (int k0 = 0; k0 < counts.Length; k0 += BatchSize) {
            using var s = torch.NewDisposeScope();
            var part = counts.Skip(k0).Take(BatchSize).ToArray();
            var changed = rank.lt(torch.tensor(part, device: x.device).reshape(-1, 1, 1, 1));   // B×1×H×W
            var states = insert ? torch.where(changed, x.unsqueeze(0), sub.unsqueeze(0)) : torch.where(changed, sub.unsqueeze(0), x.unsqueeze(0));
            result.AddRange(score_batch(states, target, example));
        }
        return result.ToArray();
    }

    double[] score_batch(Tensor states, Target target, long example)
    {
        using var s = torch.NewDisposeScope();
        var rows = Enumerable.Repeat(example, (int)states.shape[0]).ToArray();
        var t = target.for_rows(rows);
        Tensor sc;
        if (Probability && t is Target.ClassIndex or Target.PerExample) {
            var output = model.call(states);
            if (output.dim() != 2) throw new ArgumentException($"Faithfulness: Probability needs a model output of shape N×K, got [{string.Join(",", output.shape)}].");
            sc = t.scores(output.softmax(1), new Dictionary<string, Tensor>(), states.shape[0]);
        } else {
            // Layer scores (e.g. a backbone channel) and output scores have no softmax: their raw value is scored.
            sc = Gradients.forward_scores(model, states, t);
        }
        return sc.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    static (long n, long h, long w) check(Tensor inputs, Tensor maps, Target target, string what)
    {
        if (inputs.dim() != 4 || !inputs.is_floating_point())
            throw new ArgumentException($"{what}: inputs must be floating point N×C×H×W, got {inputs.dtype} [{string.Join(",", inputs.shape)}].");
        long n = inputs.shape[0], h = inputs.shape[2], w = inputs.shape[3];
        var ms = maps.shape;
        bool fits = (maps.dim() == 3 && ms[0] == n && ms[1] == h && ms[2] == w) || (maps.dim() == 4 && ms[0] == n && ms[2] == h && ms[3] == w);
        if (!fits) throw new ArgumentException($"{what}: maps of shape [{string.Join(",", ms)}] do not match inputs [{string.Join(",", inputs.shape)}] (need N×H×W or N×C×H×W).");
        return (n, h, w);
    }
}
