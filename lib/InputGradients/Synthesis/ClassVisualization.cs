using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>
/// Settings of <see cref="ClassVisualization.create"/>. Defaults are the original assignment's, for SqueezeNet with
/// inputs normalised by the ImageNet mean and standard deviation (about unit scale). For a model whose inputs live on
/// another scale (the ResNet-18 backbone takes 0-255 BGR minus the mean: about 58 times larger), use
/// <see cref="for_input_scale"/>: with x' = s·x the same run needs InitScale·s, LearningRate·s², L2Reg/s² and clamp
/// bounds·s, otherwise the L2 term dominates and the image stays flat grey.
/// </summary>
public sealed record ClassVisualizationOptions
{
    /// <summary>Image shape, 1×C×H×W.</summary>
    public long[] Shape { get; init; } = { 1, 3, 224, 224 };
    public int Iterations { get; init; } = 100;
    public double LearningRate { get; init; } = 25;
    /// <summary>Weight of ‖I‖² in the objective s_y(I) − L2Reg·‖I‖².</summary>
    public double L2Reg { get; init; } = 1e-3;
    /// <summary>Largest jitter (circular shift) in pixels along each axis; shifts are uniform in 0..MaxJitter.</summary>
    public int MaxJitter { get; init; } = 16;
    /// <summary>Blur every this many iterations (at iterations 0, BlurEvery, 2·BlurEvery…); 0 disables.</summary>
    public int BlurEvery { get; init; } = 10;
    public double BlurSigma { get; init; } = 0.5;
    /// <summary>Per-channel lower bounds of valid pixels (default: ImageNet-normalised 0, i.e. −mean/std).</summary>
    public double[]? ClampLow { get; init; } = { -0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225 };
    /// <summary>Per-channel upper bounds (default: ImageNet-normalised 1, i.e. (1 − mean)/std).</summary>
    public double[]? ClampHigh { get; init; } = { (1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225 };
    /// <summary>Keep a frame at iteration 0, every ShowEvery iterations and at the end.</summary>
    public int ShowEvery { get; init; } = 25;
    /// <summary>Start image = InitScale·randn (the original: 1).</summary>
    public double InitScale { get; init; } = 1.0;
    /// <summary>Start from this image instead of noise (not modified).</summary>
    public Tensor? InitialImage { get; init; }
    /// <summary>Divide the gradient by its L2 norm before the step (off in the original).</summary>
    public bool NormalizeGradient { get; init; }
    public long Seed { get; init; } = 0;
    /// <summary>Element type of the image (default: that of the model's first parameter, else float32).</summary>
    public ScalarType? DType { get; init; }
    public IProgress<ClassVisualizationProgress>? Progress { get; init; }

    /// <summary>
    /// The same optimisation for a model that takes inputs <paramref name="s"/> times larger (x' = s·x): the result is
    /// then s times the result of these options on the unscaled model. Scales InitScale and the clamp bounds by s,
    /// LearningRate by s² (the gradient shrinks by s and the step must grow by s; by s alone when the gradient is
    /// normalised, since the step is then already a length in input units) and L2Reg by 1/s².
    /// </summary>
    /// <example><code>
    /// var o = new ClassVisualizationOptions { ClampLow = low255, ClampHigh = high255 }.for_input_scale(58.0);
    /// </code></example>
    public ClassVisualizationOptions for_input_scale(double s)
    {
        if (!(s > 0)) throw new ArgumentOutOfRangeException(nameof(s), $"The scale must be positive, got {s}.");
        return this with {
            InitScale = InitScale * s,
            LearningRate = LearningRate * (NormalizeGradient ? s : s * s),
            L2Reg = L2Reg / (s * s),
            ClampLow = ClampLow?.Select(v => v * s).ToArray(),
            ClampHigh = ClampHigh?.Select(v => v * s).ToArray(),
            InitialImage = null,
        };
    }
}

/// <summary>Progress of <see cref="ClassVisualization.create"/>: iteration and objective value before the step.</summary>
public readonly record struct ClassVisualizationProgress(int Iteration, int Iterations, double Score, double Objective);

/// <summary>The final image (1×C×H×W), the frames kept on the way, and the objective before each step.</summary>
public sealed record ClassVisualizationResult(Tensor Image, IReadOnlyList<(int Iteration, Tensor Image)> Frames, IReadOnlyList<double> Objectives) : IDisposable
{
    public void Dispose()
    {
        Image.Dispose();
        foreach (var (_, f) in Frames) f.Dispose();
    }
}

/// <summary>
/// Class visualisation by regularised gradient ascent on the input (Simonyan et al. 2014; jitter, L2 and blur as
/// in Yosinski et al., "Understanding Neural Networks Through Deep Visualization", 2015). Each iteration: jitter by
/// a random roll, step I ← I + lr·∇(s(I) − λ‖I‖²), undo the jitter, clamp each channel, blur every few iterations.
/// The target may be a class or any scalar objective such as a channel of a layer (<see cref="Target.Channel"/>).
/// </summary>
/// <example><code>
/// using var r = ClassVisualization.create(76, model, new ClassVisualizationOptions { Seed = 1 });   // tarantula
/// foreach (var (t, frame) in r.Frames) Show(frame, $"iteration {t}");
/// </code></example>
public static class ClassVisualization
{
    /// <summary>The original recipe through <see cref="Ascent"/> for any <see cref="Objective"/>: <see cref="PixelImage"/>
    /// (clamp, blur every BlurEvery steps), <see cref="Transform.Roll"/> jitter, the objective minus L2Reg·‖I‖², plain
    /// gradient steps of LearningRate. A class index or a <see cref="Target"/> converts to an objective (its logit or score).</summary>
    public static ClassVisualizationResult create(Objective objective, nn.Module<Tensor, Tensor> model, ClassVisualizationOptions? options = null)
    {
        var o = options ?? new ClassVisualizationOptions();
        var shape = o.InitialImage?.shape ?? o.Shape;
        if (shape.Length != 4 || shape[0] != 1) throw new ArgumentException($"ClassVisualization: the image must be 1×C×H×W, got [{string.Join(",", shape)}].");
        long c = shape[1];
        if (o.ClampLow is { } lo && lo.Length != c || o.ClampHigh is { } hi && hi.Length != c)
            throw new ArgumentException($"ClassVisualization: ClampLow/ClampHigh need {c} values (one per channel).");
        using var scope = torch.NewDisposeScope();
        // Noise in the model's dtype and on its device (float64 models get float64 images).
        var p0 = model.parameters().FirstOrDefault();
        var dtype = o.DType ?? p0?.dtype ?? ScalarType.Float32;
        var device = p0?.device ?? torch.CPU;
        using var gen = Parameterization.Seeded(o.Seed);   // disposed: a Generator holds native state
        var start = o.InitialImage is { } init
            ? init.detach().to(dtype, device)
            : torch.randn(shape, dtype: ScalarType.Float32, generator: gen).to(dtype, device).mul_scalar(o.InitScale);
        using var pixels = new PixelImage(start, null, o.ClampLow, o.ClampHigh, o.BlurEvery, o.BlurSigma);
        var goal = o.L2Reg == 0 ? objective : objective - o.L2Reg * Objective.L2();
        var progress = o.Progress is { } report
            ? new Experiments.ProgressReport<AscentProgress>(p => report.Report(new ClassVisualizationProgress(p.Iteration, p.Iterations, p.Tracked[0], p.Objective)))
            : null;
        using var r = Ascent.run(model, goal, pixels, new AscentOptions {
            Iterations = o.Iterations, Optimizer = AscentOptimizer.SGD, LearningRate = o.LearningRate, NormalizeGradient = o.NormalizeGradient,
            Transform = Transform.Roll(o.MaxJitter), Seed = o.Seed, ShowEvery = o.ShowEvery, Track = new[] { objective }, Progress = progress,
        });
        var frames = r.Frames.Select(f => (f.Iteration, f.Input.clone().MoveToOuterDisposeScope())).ToList();
        return new ClassVisualizationResult(r.Input.clone().MoveToOuterDisposeScope(), frames, r.Objectives);
    }
}
