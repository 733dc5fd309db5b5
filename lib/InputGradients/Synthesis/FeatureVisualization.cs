using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>
/// Feature visualisation (Erhan et al. 2009; Olah et al., "Feature Visualization", Distill 2017): gradient ascent
/// from noise on the input so that one channel, or a whole layer, responds strongly. It is the class-visualisation
/// loop of <see cref="ClassVisualization"/> (random jitter, L2 penalty, clamping, periodic blur) with the objective
/// set to the mean over positions of a channel of a layer, so its options and transforms are those of
/// <see cref="ClassVisualizationOptions"/>. Maximise a <b>pre-ReLU</b> tap (e.g. <c>layer3.1.pre_relu</c> of the
/// ResNet-18 backbone): after the ReLU a channel that is negative everywhere has zero gradient and ascent cannot start.
/// </summary>
/// <example><code>
/// using var net = ResNet18Backbone.Load();
/// var o = FeatureVisualization.options_for_0_255(net.MeanBgr, size: 128) with { Iterations = 100, Seed = 1 };
/// using var r = FeatureVisualization.channel(net, "layer3.1.pre_relu", 17, o);
/// ImageGrid.Of(net.Deprocess(r.Image), "layer3.1 channel 17");
/// </code></example>
public static class FeatureVisualization
{
    /// <summary>Maximises the mean of channel <paramref name="channel"/> of <paramref name="layer"/> (N×C×h×w).</summary>
    public static ClassVisualizationResult channel(nn.Module<Tensor, Tensor> model, string layer, long channel, ClassVisualizationOptions options) =>
        ClassVisualization.create(Target.Channel(layer, channel), model, options);

    /// <summary>Maximises the mean of the whole layer <paramref name="layer"/> over channels and positions
    /// (every feature of the layer at once, as in DeepDream's objective on a layer).</summary>
    public static ClassVisualizationResult layer(nn.Module<Tensor, Tensor> model, string layer, ClassVisualizationOptions options)
    {
        var target = Target.OfLayer(layer, a => a.flatten(1).mean(new long[] { 1 }), $"mean of {layer}");
        return ClassVisualization.create(target, model, options);
    }

    /// <summary>
    /// Settings for a model whose input is an image on a 0-255 scale minus per-channel means
    /// <paramref name="mean"/> (the ResNet-18 backbone: BGR minus its means): pixels clamped to
    /// [−mean, 255 − mean], a start of small noise (std 10), normalised gradient steps of
    /// <paramref name="step"/> (in pixel units of the whole image's L2 norm), no L2 penalty, jitter up to 8 pixels
    /// and a blur of σ = 0.5 every 4 iterations.
    /// </summary>
    public static ClassVisualizationOptions options_for_0_255(IReadOnlyList<float> mean, int size = 128, int iterations = 100, double step = 600)
    {
        if (size < 32) throw new ArgumentOutOfRangeException(nameof(size), $"size must be at least 32, got {size}.");
        return new ClassVisualizationOptions
        {
            Shape = new long[] { 1, mean.Count, size, size },
            Iterations = iterations,
            LearningRate = step,
            NormalizeGradient = true,
            L2Reg = 0,
            MaxJitter = 8,
            BlurEvery = 4,
            BlurSigma = 0.5,
            InitScale = 10,
            ClampLow = mean.Select(m => -(double)m).ToArray(),
            ClampHigh = mean.Select(m => 255.0 - m).ToArray(),
            ShowEvery = 0,
        };
    }

    /// <summary>
    /// The pixel recipe (the one above, batched): pixels in the input space started at N(0, (10/255)²) in 0-1 units,
    /// normalised gradient steps of <paramref name="step"/> (0-1 units, L2 norm of each whole image), circular jitter up
    /// to 8 px, a blur σ = 0.5 after every 4th step, clamping to valid pixels. One image per objective.
    /// </summary>
    public static AscentResult pixels(nn.Module<Tensor, Tensor> model, InputSpace space, IReadOnlyList<Objective> objectives,
        int size = 128, int iterations = 100, double step = 1500 / 255.0, long seed = 1, IProgress<AscentProgress>? progress = null)
    {
        double unit = space.Std.Average(sd => space.Scale / sd);   // input units per 0-1 unit
        using var p = Parameterization.Pixels(space, objectives.Count, size, size, initScale: 10 / 255.0 * unit, seed: seed, blurEvery: 4, blurSigma: 0.5,
            dtype: Dtype(model));
        return Ascent.run(model, objectives, p, new AscentOptions {
            Iterations = iterations, Optimizer = AscentOptimizer.SGD, LearningRate = step * unit, NormalizeGradient = true,
            Transform = Transform.Roll(8), Seed = seed, Progress = progress,
        });
    }

    /// <summary>
    /// The decorrelated recipe (Olah et al. 2017, Lucent's defaults): <see cref="FourierImage"/> with colour decorrelation
    /// (RGB models), Adam with learning rate <paramref name="lr"/>, <see cref="Transform.Standard"/> robustness transforms.
    /// One image per objective.
    /// </summary>
    public static AscentResult fourier(nn.Module<Tensor, Tensor> model, InputSpace space, IReadOnlyList<Objective> objectives,
        int size = 128, int iterations = 100, double lr = 0.05, long seed = 1, Transform? transform = null, IProgress<AscentProgress>? progress = null)
    {
        using var p = Parameterization.Fourier(space, objectives.Count, size, size, seed: seed, dtype: Dtype(model));
        return Ascent.run(model, objectives, p, new AscentOptions {
            Iterations = iterations, Optimizer = AscentOptimizer.Adam, LearningRate = lr,
            Transform = transform ?? Transform.Standard(), Seed = seed, Progress = progress,
        });
    }

    static ScalarType Dtype(nn.Module<Tensor, Tensor> model) => model.parameters().FirstOrDefault()?.dtype ?? ScalarType.Float32;

    /// <summary>
    /// Runs two recipes (each returns its final inputs, one image per objective) and measures objective i on image i of
    /// each without any transform: the same yardstick for both, whatever regularisers each used on the way.
    /// </summary>
    public static RecipeComparison compare(nn.Module<Tensor, Tensor> model, IReadOnlyList<Objective> objectives,
        Func<Tensor> pixels, Func<Tensor> fourier)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var a = pixels();
        double ta = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var b = fourier();
        double tb = clock.Elapsed.TotalSeconds;
        if (a.shape[0] != objectives.Count || b.shape[0] != objectives.Count)
            throw new ArgumentException($"compare: {objectives.Count} objectives, but the recipes made {a.shape[0]} and {b.shape[0]} images.");
        return new RecipeComparison(objectives, a, b, Ascent.evaluate(model, objectives, a), Ascent.evaluate(model, objectives, b), ta, tb);
    }
}

/// <summary>Two recipes' final inputs for the same objectives, each objective's value on them (no transform) and the time each took.</summary>
public sealed record RecipeComparison(IReadOnlyList<Objective> Objectives, Tensor PixelInputs, Tensor FourierInputs,
    double[] PixelValues, double[] FourierValues, double PixelSeconds, double FourierSeconds) : IDisposable
{
    /// <summary>How many objectives reach a higher value with the Fourier recipe.</summary>
    public int FourierHigher => PixelValues.Zip(FourierValues).Count(p => p.Second > p.First);

    /// <summary>One line per objective and a summary line.</summary>
    public string Report()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"objective",-32} {"pixels",10} {"Fourier",10}  ratio");
        for (int i = 0; i < Objectives.Count; i++)
            sb.AppendLine($"{Objectives[i].Description,-32} {PixelValues[i],10:F2} {FourierValues[i],10:F2}  {FourierValues[i] / PixelValues[i],5:F2}");
        sb.Append($"Fourier + decorrelation activates {FourierHigher} of {Objectives.Count} more; time: pixels {PixelSeconds:F0} s, Fourier {FourierSeconds:F0} s");
        return sb.ToString();
    }

    public void Dispose() { PixelInputs.Dispose(); FourierInputs.Dispose(); }
}
