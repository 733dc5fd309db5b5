using System.CommandLine;
using InputGradients.Experiments;
using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using InputGradients.Models.ImageNet;
using InputGradients.Synthesis;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Cli;

/// <summary>What each image command does: load, choose the target, run the library method, write PNGs.</summary>
public static class Methods
{
    /// <summary>
    /// The attribution commands, one row each: name, help, the options it adds to the shared model and target options,
    /// and what it computes. A new method is one more row (the command line and the output files follow from it).
    /// </summary>
    internal static readonly AttributionMethod[] Attributions =
    [
        new("saliency", "Saliency map (Simonyan et al. 2014): max over colour channels of |d score / d pixel|.",
            _ => [], a => new(Saliency.compute_saliency_maps(a.Input, a.Target, a.Model.Net)[0])),
        new("ig", "Integrated Gradients (Sundararajan et al. 2017) from the zero baseline of the network input (the mean image); shows |sum over channels|.",
            o => [o.Steps(50, Limits.MaxIgSteps, "Integration steps (Gauss-Legendre).")], a =>
            {
                var ig = new IntegratedGradients(a.Model.Net, new IntegratedGradientsOptions(Steps: a.Request.Steps, InternalBatchSize: 10));
                return new(ProgressBar.Run(a.Console, a.Live, $"integrated gradients ({a.Request.Steps} steps)", 1, done =>
                {
                    var attribution = ig.attribute(a.Input, a.Target);
                    done(1);
                    return attribution;
                })[0].sum([0L]).abs());
            }),
        new("smoothgrad", "SmoothGrad (Smilkov et al. 2017): saliency averaged over noisy copies of the image.",
            o => [o.Samples, o.Noise], a => new(ProgressBar.Run(a.Console, a.Live, $"smoothgrad ({a.Request.Samples} samples)", a.Request.Samples, done =>
            {
                int n = 0;
                var sg = new SmoothGrad(new Counting(new Saliency(a.Model.Net), () => done(++n))) { Samples = a.Request.Samples, NoiseLevel = a.Request.Noise, Seed = a.Request.Seed };
                return sg.attribute(a.Input, a.Target);
            })[0].amax([0]))),
        new("guided", "Guided backpropagation (Springenberg et al. 2015) through every ReLU; the map is the RGB gradient image.",
            _ => [], a => Guided(a, a.Model.GradientToImage(new GuidedBackprop(a.Model.Net).attribute(a.Input, a.Target)))),
        new("gradcam", "Grad-CAM (Selvaraju et al. 2017) at --cam-layer, upsampled to the image.",
            o => [o.CamLayer], a => new(new GradCam(a.Model.Net, a.CamLayer).cam(a.Input, a.Target)[0, 0], Clip: false)),
        new("guided-gradcam", "Guided Grad-CAM: guided backpropagation times Grad-CAM.",
            o => [o.CamLayer], a => Guided(a, a.Model.GradientToImage(new GuidedGradCam(a.Model.Net, a.CamLayer).attribute(a.Input, a.Target)))),
    ];

    /// <summary>The guided methods show the RGB gradient image; the overlay uses its largest channel magnitude.</summary>
    static AttributionMap Guided(AttributionRun a, Tensor gradient) =>
        new(gradient[0].abs().amax([0]), Picture: GuidedBackprop.to_image(gradient)[0].permute(2, 0, 1));

    static CliModel Open(Request r, IAnsiConsole console)
    {
        InputGradients.Runtime.LibraryRuntime.Ensure();   // TorchSharp's natives, before the first torch call
        if (r.Threads is { } t) torch.set_num_threads(t);
        var model = CliModel.Load(r.Model, r.Weights);
        console.MarkupLineInterpolated($"model: [bold]{r.Model.ToString().ToLowerInvariant()}[/], input {model.Size}x{model.Size}");
        return model;
    }

    /// <summary>The target for one image and how to name it in messages and file names.</summary>
    static (Target Target, Objective Objective, string Description, string Tag) Choose(CliModel m, Request r, Tensor input, bool forFooling = false)
    {
        if (!m.HasClasses)
        {
            if (r.Class is not null) throw new CliException("--class: the resnet18 backbone has no classifier head; use --channel N (a channel of --layer).");
            long c = r.Channel ?? (forFooling ? MedianChannel(m, input, r.Layer) : m.MostActiveChannel(input, r.Layer));
            CheckChannel(m, input, r.Layer, c);
            return (Target.Channel(r.Layer, c), Objective.Channel(r.Layer, c), $"channel {c} of {r.Layer}" + (r.Channel is null && !forFooling ? " (the most active)" : ""), $"{r.Layer}-ch{c}");
        }
        if (r.Channel is not null) throw new CliException($"--channel is for the resnet18 backbone; --model {r.Model.ToString().ToLowerInvariant()} takes --class N.");
        long k = r.Class ?? (forFooling ? MedianClass(m, input) : m.Predict(input)!.Value.Index);
        if (k < 0 || k >= m.Classes!.Count) throw new CliException($"--class {k} is out of range: the model has {m.Classes.Count} classes (0..{m.Classes.Count - 1}).");
        var how = r.Class is null && !forFooling ? " (predicted)" : "";
        return (Target.Class(k), Objective.ClassLogit(k), $"class {k} '{m.Classes[(int)k]}'{how}", $"class{k}");
    }

    static void CheckChannel(CliModel m, Tensor input, string layer, long c)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = LayerTaps.run(m.Net, input, false, layer).layers[layer];
        if (c < 0 || c >= a.shape[1]) throw new CliException($"--channel {c} is out of range: {layer} has {a.shape[1]} channels (0..{a.shape[1] - 1}).");
    }

    static long MedianChannel(CliModel m, Tensor input, string layer)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = LayerTaps.run(m.Net, input, false, layer).layers[layer];
        var order = a.mean([2, 3])[0].argsort(descending: true);
        return order[order.shape[0] / 2].item<long>();
    }

    static long MedianClass(CliModel m, Tensor input)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var order = m.Net.call(input)[0].argsort(descending: true);
        return order[order.shape[0] / 2].item<long>();
    }

    /// <summary>Every image decodes, before the (slower) model is loaded.</summary>
    static void CheckImages(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new CliException($"image file not found: {path}");
            try { InputGradients.Imaging.ImageIO.Load(path).Dispose(); }
            catch (InvalidDataException e) { throw new CliException(e.Message); }
        }
    }

    static string Stem(string path) => Path.GetFileNameWithoutExtension(path);

    /// <summary>Writes the images (C×H×W on 0-1, one per file) after checking that none of the files is an input: an
    /// output name can coincide with another input image in the same folder.</summary>
    static void Save(Request r, params (Tensor Image, string File)[] outputs)
    {
        foreach (var (_, file) in outputs) OutputGuard.Check(file, r.Inputs);
        foreach (var (image, file) in outputs) Render.Save(image, file);
    }

    static void Wrote(IAnsiConsole console, params string[] files)
    {
        foreach (var f in files) console.MarkupLineInterpolated($"  wrote [green]{f}[/]");
    }

    internal static int Attribute(AttributionMethod method, Request r, IAnsiConsole console, bool live)
    {
        OutputGuard.CheckFolder(r.Out, r.Inputs);
        CheckImages(r.Images);
        using var m = Open(r, console);
        var camLayer = r.CamLayer ?? m.CamLayer;
        foreach (var path in r.Images)
        {
            using var scope = NewDisposeScope();
            var (image, input) = m.LoadImage(path);
            var (target, _, description, tag) = Choose(m, r, input);
            console.MarkupLineInterpolated($"{method.Name} of [bold]{path}[/]: {description}");
            var result = method.Compute(new AttributionRun(m, r, input, target, camLayer, console, live));
            var unit = Render.Normalize(result.Map, result.Clip);
            string mapFile = Path.Combine(r.Out, $"{Stem(path)}.{method.Name}.{tag}.png");
            string overlayFile = Path.Combine(r.Out, $"{Stem(path)}.{method.Name}.{tag}.overlay.png");
            Save(r, (result.Picture ?? Render.Colour(unit), mapFile), (Render.Overlay(image, unit), overlayFile));
            Wrote(console, mapFile, overlayFile);
        }
        return 0;
    }

    public static int Fooling(Request r, IAnsiConsole console, bool live)
    {
        OutputGuard.CheckFolder(r.Out, r.Inputs);
        CheckImages(r.Images);
        using var m = Open(r, console);
        foreach (var path in r.Images)
        {
            using var scope = NewDisposeScope();
            var (image, input) = m.LoadImage(path);
            var (_, objective, description, tag) = Choose(m, r, input, forFooling: true);
            // The goal is the class, or for the backbone the channel that should become the most active of --layer.
            long goal = objective.ClassTarget ?? objective.ChannelTarget!.Value.Channel;
            Func<Activations, long> predict = m.HasClasses
                ? a => a.NeedOutput().argmax(1)[0].item<long>()
                : a => { using var s = a.Layer(r.Layer).mean([2, 3]).argmax(1); return s[0].item<long>(); };
            // The original's 10 suits 224x224 unit-scale inputs; the backbone's inputs are ~58x larger (the model's input
            // space says by how much), and a 28x28 image has 64x fewer pixels, so the same step is relatively 8x longer there.
            double lr = r.Lr ?? m.Kind switch { ModelKind.Fashion => 1, _ => Math.Round(10 * m.Space.UnitScale) };
            console.MarkupLineInterpolated($"fooling [bold]{path}[/] towards {description}, step length {lr}");
            var result = ProgressBar.Run(console, live, "fooling", r.Steps, done =>
                FoolingImage.toward(input, objective, predict, goal, m.Net, lr, r.Steps, new ProgressReport<FoolingProgress>(p => done(p.Iteration))));
            using (result)
            {
                var what = m.HasClasses ? $"'{m.Classes![(int)result.Predicted]}'" : $"channel {result.Predicted}";
                console.MarkupLine((result.Succeeded ? "  [green]fooled[/]" : "  [yellow]not fooled[/]") +
                                   Markup.Escape($" after {result.Iterations} steps: the network now ranks first {what}"));
                var fooled = m.ToImage(result.Image);
                var diff = fooled - image;
                var scale = diff.abs().max().clamp_scalar(1e-12, null);
                var magnified = (diff / scale).mul_scalar(0.5).add_scalar(0.5).clamp_scalar(0, 1);
                string f1 = Path.Combine(r.Out, $"{Stem(path)}.fooling.{tag}.png");
                string f2 = Path.Combine(r.Out, $"{Stem(path)}.fooling.{tag}.difference.png");
                Save(r, (fooled, f1), (magnified, f2));
                Wrote(console, f1, f2);
            }
        }
        return 0;
    }

    public static int ClassVis(Request r, IAnsiConsole console, bool live)
    {
        OutputGuard.CheckFolder(r.Out, r.Inputs);
        using var m = Open(r, console);
        Objective objective;
        string tag;
        if (m.HasClasses)
        {
            if (r.Channel is not null) throw new CliException($"--channel is for the resnet18 backbone; --model {r.Model.ToString().ToLowerInvariant()} takes --class N.");
            long k = r.Class ?? 0;
            if (k < 0 || k >= m.Classes!.Count) throw new CliException($"--class {k} is out of range: the model has {m.Classes.Count} classes (0..{m.Classes.Count - 1}).");
            (objective, tag) = (Objective.ClassLogit(k), $"class{k}");
        }
        else
        {
            if (r.Class is not null) throw new CliException("--class: the resnet18 backbone has no classifier head; use --channel N (a channel of --layer).");
            long c = r.Channel ?? 0;
            using (var probe = zeros(1, m.Space.Channels, m.Size, m.Size)) CheckChannel(m, probe, r.Layer, c);
            (objective, tag) = (Objective.Channel(r.Layer, c), $"{r.Layer}-ch{c}");
        }
        var o = Settings(m, r);
        var named = objective.ClassTarget is { } cls ? $"{objective.Description} '{m.Classes![(int)cls]}'" : objective.Description;
        console.MarkupLineInterpolated($"class visualisation of {named}: {r.Steps} steps, seed {r.Seed}");
        using var result = ProgressBar.Run(console, live, "visualising", r.Steps, done =>
            ClassVisualization.create(objective, m.Net, o with { Progress = new ProgressReport<ClassVisualizationProgress>(p => done(p.Iteration + 1)) }));
        using var image = m.ToImage(result.Image);
        string file = Path.Combine(r.Out, $"classvis.{r.Model.ToString().ToLowerInvariant()}.{tag}.png");
        Save(r, (image, file));
        Wrote(console, file);
        return 0;
    }

    /// <summary>The original assignment's settings (for unit-scale inputs) moved to each model's input space (its
    /// <see cref="InputSpace.UnitScale"/>); for the 28x28 Fashion-MNIST CNN, settings picked by looking at classes 0, 1, 7,
    /// 9 (shirt, trouser, sneaker, boot shapes appear; the original's lr 25 and 16-pixel jitter give noise on 28 pixels).</summary>
    static ClassVisualizationOptions Settings(CliModel m, Request r) => m.Kind switch
    {
        ModelKind.Fashion => new ClassVisualizationOptions
        {
            Iterations = r.Steps, Seed = r.Seed, ShowEvery = 0, Shape = [1, 1, 28, 28], MaxJitter = 1, LearningRate = 0.2, L2Reg = 0.01,
            BlurEvery = 4, BlurSigma = 0.5, InitScale = 0.1, ClampLow = m.Low, ClampHigh = m.High,
        },
        _ => new ClassVisualizationOptions { Iterations = r.Steps, Seed = r.Seed, ShowEvery = 0 }
            .for_input_scale(m.Space.UnitScale) with { ClampLow = m.Low, ClampHigh = m.High, Shape = [1, m.Space.Channels, m.Size, m.Size] },
    };

    /// <summary>Feature visualisation of channels of --layer, one image each, as one batch through the library's ascent loop.</summary>
    public static int FeatVis(Request r, IAnsiConsole console, bool live)
    {
        OutputGuard.CheckFolder(r.Out, r.Inputs);
        using var m = Open(r, console);
        int size = m.Kind == ModelKind.Fashion ? 28 : r.Size;
        var channels = r.Channels ?? [0];
        using (var probe = zeros(1, m.Space.Channels, size, size))
            foreach (var c in channels) CheckChannel(m, probe, r.Layer, c);
        var goals = channels.Select(c => Objective.Channel(r.Layer, c)).ToList();
        console.MarkupLineInterpolated($"feature visualisation ({r.Recipe}) of {goals.Count} channel(s) of {r.Layer}: {size}x{size}, {r.Steps} steps, seed {r.Seed}");
        using var result = ProgressBar.Run(console, live, "visualising", r.Steps, done =>
        {
            var progress = new ProgressReport<AscentProgress>(p => done(p.Iteration + 1));
            return r.Recipe == "pixels"
                ? FeatureVisualization.pixels(m.Net, m.Space, goals, size, r.Steps, seed: r.Seed, progress: progress)
                // 28 pixels leave no room for Lucent's padding and crops: shifts only.
                : FeatureVisualization.fourier(m.Net, m.Space, goals, size, r.Steps, seed: r.Seed,
                    transform: m.Kind == ModelKind.Fashion ? Transform.Roll(2) : null, progress: progress);
        });
        var values = Ascent.evaluate(m.Net, goals, result.Input);
        for (int i = 0; i < goals.Count; i++)
        {
            string file = Path.Combine(r.Out, $"featvis.{r.Model.ToString().ToLowerInvariant()}.{r.Layer}-ch{channels[i]}.{r.Recipe}.png");
            using var image = result.Image[i];
            Save(r, (image, file));
            console.MarkupLineInterpolated($"  channel {channels[i]}: mean activation {values[i]:F3}");
            Wrote(console, file);
        }
        return 0;
    }

    /// <summary>Counts calls of an inner method (SmoothGrad calls it once per noisy sample) for the progress bar.</summary>
    sealed class Counting(IAttribution inner, Action tick) : IAttribution
    {
        public Tensor attribute(Tensor inputs, Target target)
        {
            var a = inner.attribute(inputs, target);
            tick();
            return a;
        }
    }
}

/// <summary>One attribution command: its name, its help, the options it adds, and the map it computes.</summary>
internal sealed record AttributionMethod(string Name, string Description, Func<Options, Option[]> Options, Func<AttributionRun, AttributionMap> Compute);

/// <summary>What a method works on: the loaded model, the request, one preprocessed image and the chosen target.</summary>
internal sealed record AttributionRun(CliModel Model, Request Request, Tensor Input, Target Target, string CamLayer, IAnsiConsole Console, bool Live);

/// <summary>
/// What a method draws: <paramref name="Map"/> (H×W, any scale) for the overlay and, unless <paramref name="Picture"/>
/// (C×H×W in [0, 1]) is given, for the map PNG; <paramref name="Clip"/>: scaled to its 99th percentile.
/// </summary>
internal sealed record AttributionMap(Tensor Map, Tensor? Picture = null, bool Clip = true);
