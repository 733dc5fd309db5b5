using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>The optimiser of <see cref="Ascent"/>: plain gradient steps (the original's) or Adam (Lucent's default).</summary>
public enum AscentOptimizer { SGD, Adam }

/// <summary>Settings of <see cref="Ascent.run(nn.Module{Tensor,Tensor}, Objective, IParameterization, AscentOptions?)"/>.</summary>
public sealed record AscentOptions
{
    public int Iterations { get; init; } = 256;
    public AscentOptimizer Optimizer { get; init; } = AscentOptimizer.Adam;
    public double LearningRate { get; init; } = 0.05;
    /// <summary>Divide each example's gradient by its L2 norm before the step (fooling images, the pixel feature recipe).</summary>
    public bool NormalizeGradient { get; init; }
    /// <summary>Applied to the input before every forward pass (default: none).</summary>
    public Transform? Transform { get; init; }
    /// <summary>Seed of the random choices of <see cref="Transform"/>.</summary>
    public long Seed { get; init; }
    /// <summary>Stop before the step when this holds for the current (transformed) input's activations. When set, the
    /// input after the last step is evaluated once more (one more value in <see cref="AscentResult.Objectives"/>), so a
    /// run that reaches its goal on the last step counts as stopped.</summary>
    public Func<Activations, bool>? StopWhen { get; init; }
    /// <summary>Objectives only watched: their values go to <see cref="AscentProgress.Tracked"/>.</summary>
    public IReadOnlyList<Objective>? Track { get; init; }
    /// <summary>Keep the input after step 0, after every ShowEvery-th step (0: none between) and after the last;
    /// null (the default): keep no frames.</summary>
    public int? ShowEvery { get; init; }
    public IProgress<AscentProgress>? Progress { get; init; }
}

/// <summary>Before step <see cref="Iteration"/>: the objective and the watched values (<see cref="AscentOptions.Track"/>).</summary>
public readonly record struct AscentProgress(int Iteration, int Iterations, double Objective, IReadOnlyList<double> Tracked);

/// <summary>The final model input (N×C×H×W) and its 0-1 images, the frames kept, the objective before each step, the
/// number of steps taken and whether <see cref="AscentOptions.StopWhen"/> stopped the run.</summary>
public sealed record AscentResult(Tensor Input, Tensor Image, IReadOnlyList<(int Iteration, Tensor Input)> Frames,
    IReadOnlyList<double> Objectives, int Steps, bool Stopped) : IDisposable
{
    public void Dispose()
    {
        Input.Dispose(); Image.Dispose();
        foreach (var (_, f) in Frames) f.Dispose();
    }
}

/// <summary>
/// The one gradient-ascent loop behind class visualisation, feature visualisation and fooling images (Lucent's
/// <c>render_vis</c>): a parameterisation gives the input, a transform perturbs it, the model runs once, the objective
/// is maximised by the optimiser, and the parameterisation projects (clamp, blur, budget). Several objectives are
/// optimised at once as one batch: objective i acts on image i only, so each image gets the gradient it would get alone.
/// </summary>
/// <example><code>
/// using var p = Parameterization.Fourier(net.InputSpace, 3, 128, 128, seed: 1);
/// var goals = new[] { 3L, 42, 100 }.Select(c => Objective.Channel("layer4.pre_relu", c)).ToList();
/// using var r = Ascent.run(net, goals, p, new AscentOptions { Transform = Transform.Standard(), Iterations = 128 });
/// ImageGrid.Row(r.Image.unbind(0), goals.Select(g => g.Description));
/// </code></example>
public static class Ascent
{
    /// <summary>Maximises <c>objectives[i]</c> on image i of <paramref name="param"/> (batch = number of objectives).</summary>
    public static AscentResult run(nn.Module<Tensor, Tensor> model, IReadOnlyList<Objective> objectives, IParameterization param, AscentOptions? options = null)
    {
        if (objectives.Count != param.Batch)
            throw new ArgumentException($"Ascent: {objectives.Count} objectives for a batch of {param.Batch} images; give one per image.");
        return run(model, Objective.Sum(objectives.Select((o, i) => o.ForExample(i))), param, options);
    }

    /// <summary>Maximises <paramref name="objective"/> over the whole batch of <paramref name="param"/> (not disposed).</summary>
    public static AscentResult run(nn.Module<Tensor, Tensor> model, Objective objective, IParameterization param, AscentOptions? options = null)
    {
        var o = options ?? new AscentOptions();
        if (o.Iterations < 0) throw new ArgumentOutOfRangeException(nameof(options), $"Ascent: Iterations must be non-negative, got {o.Iterations}.");
        if (!(o.LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(options), $"Ascent: LearningRate must be positive, got {o.LearningRate}.");
        using var guard = new ModelGuard(model);
        var track = o.Track ?? Array.Empty<Objective>();
        var layers = objective.Layers.Concat(track.SelectMany(t => t.Layers)).Distinct().ToArray();
        bool needOutput = objective.NeedsOutput || track.Any(t => t.NeedsOutput) || o.StopWhen is not null;
        var rng = new Random((int)o.Seed);
        var transform = o.Transform ?? Transform.None;
        using var optimizer = new Stepper(o, param.Parameters);
        var parameterNames = param.Parameters.Select((_, i) => $"parameter {i} of the image").ToArray();   // for Gradients.grad's error
        var values = new List<double>();
        var frames = new List<(int, Tensor)>();
        bool stopped = false;
        int steps = 0;
        int last = o.StopWhen is null ? o.Iterations - 1 : o.Iterations;   // one more evaluation to check the goal
        for (int t = 0; t <= last; t++) {
            using var scope = torch.NewDisposeScope();
            using var enable = torch.enable_grad();
            var x = transform.apply(param.input(), rng);
            var (output, taps) = LayerTaps.run(model, x, needOutput, layers);
            var a = new Activations(x, output, taps);
            var v = objective.evaluate(a);
            values.Add(v.to_double());
            stopped = o.StopWhen?.Invoke(a) == true;
            if (o.Progress is not null) {   // after StopWhen, which may record what it saw for the report
                var tracked = track.Select(tr => { using var _ = torch.no_grad(); return tr.evaluate(a).to_double(); }).ToArray();
                o.Progress.Report(new AscentProgress(t, o.Iterations, values[^1], tracked));
            }
            if (stopped) break;
            if (t == o.Iterations) break;
            IReadOnlyList<Tensor> grads = Gradients.grad(v, param.Parameters, "The objective", parameterNames);
            if (o.NormalizeGradient) grads = grads.Select(NormalizePerExample).ToArray();
            optimizer.step(grads);
            param.after_step(t);
            steps++;
            if (o.ShowEvery is { } k && (t == 0 || (k > 0 && (t + 1) % k == 0) || t == o.Iterations - 1))
                frames.Add((t, Keep(param)));
        }
        using var final = torch.no_grad();
        Tensor input;
        using (var alias = param.input()) input = alias.detach();
        var image = param.image();
        return new AscentResult(input, image, frames, values, steps, stopped);
    }

    /// <summary>The value of <paramref name="objective"/> on <paramref name="input"/> (no transform, no gradient).</summary>
    public static double evaluate(nn.Module<Tensor, Tensor> model, Objective objective, Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        using var guard = new ModelGuard(model);
        using var _ = torch.no_grad();
        var (output, taps) = LayerTaps.run(model, input, objective.NeedsOutput, objective.Layers.ToArray());
        return objective.evaluate(new Activations(input, output, taps)).to_double();
    }

    /// <summary>The value of each <c>objectives[i]</c> on image i of <paramref name="input"/>.</summary>
    public static double[] evaluate(nn.Module<Tensor, Tensor> model, IReadOnlyList<Objective> objectives, Tensor input) =>
        objectives.Select((ob, i) => evaluate(model, ob, input.narrow(0, i, 1))).ToArray();

    static Tensor Keep(IParameterization param)
    {
        using var _ = torch.no_grad();
        return param.input().detach().clone().DetachFromDisposeScope();
    }

    /// <summary>Each example's gradient divided by its L2 norm.</summary>
    static Tensor NormalizePerExample(Tensor g)
    {
        long n = g.shape[0];
        var shape = Enumerable.Repeat(1L, (int)g.dim()).ToArray();
        shape[0] = n;
        return g / g.reshape(n, -1).norm(1).clamp_scalar(1e-30, null).view(shape);
    }

    /// <summary>
    /// Ascent steps on the parameters, written out rather than torch.optim's: gradient steps p ← p + lr·g, or
    /// <see cref="Adam"/> (PyTorch's defaults β = (0.9, 0.999), ε = 1e-8) up the gradient.
    /// </summary>
    sealed class Stepper : IDisposable
    {
        readonly AscentOptions o;
        readonly IReadOnlyList<Tensor> ps;
        readonly Adam? adam;

        public Stepper(AscentOptions options, IReadOnlyList<Tensor> parameters)
        {
            (o, ps) = (options, parameters);
            if (o.Optimizer == AscentOptimizer.Adam) adam = new Adam(parameters, o.LearningRate, maximize: true);
        }

        public void step(IReadOnlyList<Tensor> grads)
        {
            if (adam is not null) { adam.step(grads); return; }
            using var _ = torch.no_grad();
            for (int i = 0; i < ps.Count; i++) ps[i].add_tensor_(grads[i], o.LearningRate);
        }

        public void Dispose() => adam?.Dispose();
    }
}
