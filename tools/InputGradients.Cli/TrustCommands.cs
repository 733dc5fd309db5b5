using System.CommandLine;
using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Layer;
using InputGradients.Metrics;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Cli;

/// <summary>
/// <c>inputgrad sanity</c> (cascading model randomisation, Adebayo et al. 2018) and <c>inputgrad faithfulness</c>
/// (deletion, insertion, ROAD) on image files, for the attribution methods named by <c>--methods</c>.
/// </summary>
public static class TrustCommands
{
    public static readonly string[] MethodNames = ["saliency", "ig", "guided", "gradcam", "layercam", "hirescam", "scorecam", "occlusion"];

    static Option<string> MethodsOption(string fallback) => new("--methods")
    {
        Description = $"Comma-separated methods: {string.Join(", ", MethodNames)}.",
        DefaultValueFactory = _ => fallback,
    };

    internal static Command Sanity(Options o, IAnsiConsole console, bool live)
    {
        var methods = MethodsOption("saliency,guided,gradcam");
        var cmd = new Command("sanity", "Cascading model randomisation (Adebayo et al. 2018): the maps as the layers are randomised from the " +
                                        "top, their Spearman rank correlation, SSIM and HOG similarity with the trained model's map; the weights are restored after.")
            { o.Images, methods };
        o.AddModelOptions(cmd);
        o.AddTargetOptions(cmd);
        cmd.Add(o.CamLayer);
        cmd.Add(o.Seed);
        cmd.SetAction(p => Cli.Guard(console, () => RunSanity(o.Read(p), Parse(p.GetValue(methods)!), console)));
        return cmd;
    }

    internal static Command Faithfulness(Options o, IAnsiConsole console, bool live)
    {
        var methods = MethodsOption("saliency,ig,guided,gradcam,scorecam,occlusion");
        var roadFractions = new Option<string>("--road-fractions")
        {
            Description = "ROAD: comma-separated fractions of pixels removed, each strictly between 0 and 1 (fewer is faster on 224x224).",
            DefaultValueFactory = _ => "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9",
        };
        var perStep = new Option<int>("--pixels-per-step") { Description = "Deletion/insertion: pixels changed per step (1 to 1000000).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("faithfulness", "Deletion and insertion areas (Petsiuk et al. 2018) and the ROAD gap LeRF - MoRF with noisy linear " +
                                              "imputation (Rong et al. 2022) of each method, with a random map and a Sobel edge map as baselines. " +
                                              "Classifiers score the class probability; the resnet18 backbone scores the raw mean of a channel " +
                                              "(--channel N of --layer), and its default methods leave out scorecam and occlusion, which need a class score.")
            { o.Images, methods, perStep, roadFractions };
        o.AddModelOptions(cmd);
        o.AddTargetOptions(cmd);
        cmd.Add(o.CamLayer);
        cmd.Add(o.Seed);
        cmd.SetAction(p => Cli.Guard(console, () => RunFaithfulness(o.Read(p), Parse(p.GetValue(methods)!), p.GetResult(methods) is not { Implicit: false }, p.GetValue(perStep), Fractions(p.GetValue(roadFractions)!), console)));
        return cmd;
    }

    static string[] Parse(string list)
    {
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).Distinct().ToArray();
        if (names.Length == 0) throw new CliException("--methods: name at least one method.");
        foreach (var n in names)
            if (!MethodNames.Contains(n)) throw new CliException($"--methods: '{n}' is not one of {string.Join(", ", MethodNames)}.");
        return names;
    }

    static double[] Fractions(string list)
    {
        var parts = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new List<double>();
        foreach (var t in parts)
            if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || !(v > 0 && v < 1))
                throw new CliException($"--road-fractions: '{t}' is not a fraction strictly between 0 and 1.");
            else values.Add(v);
        if (values.Count == 0) throw new CliException("--road-fractions: give at least one fraction.");
        return values.ToArray();
    }

    static NamedMethod Make(string name, CliModel m, string camLayer) => name switch
    {
        "saliency" => new(name, new Saliency(m.Net).attribute),
        "ig" => new(name, new IntegratedGradients(m.Net, new IntegratedGradientsOptions(Steps: 16, InternalBatchSize: 8)).attribute),
        "guided" => new(name, new GuidedBackprop(m.Net).attribute),
        "gradcam" => new(name, new GradCam(m.Net, camLayer).attribute),
        "layercam" => new(name, new LayerCam(m.Net, camLayer).attribute),
        "hirescam" => new(name, new HiResCam(m.Net, camLayer).attribute),
        "scorecam" => new(name, new ScoreCam(m.Net, camLayer) { BatchSize = 32 }.attribute),
        "occlusion" => new(name, new Occlusion(m.Net) { WindowHeight = m.Size / 7, WindowWidth = m.Size / 7, StrideHeight = m.Size / 14, StrideWidth = m.Size / 14 }.attribute),
        _ => throw new CliException($"unknown method '{name}'."),
    };

    static (Target Target, string Description) Choose(CliModel m, Request r, Tensor input)
    {
        if (!m.HasClasses)
        {
            if (r.Class is not null) throw new CliException("--class: the resnet18 backbone has no classifier head; use --channel N (a channel of --layer).");
            long c = r.Channel ?? m.MostActiveChannel(input, r.Layer);
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var a = LayerTaps.run(m.Net, input, false, r.Layer).layers[r.Layer];
                if (c < 0 || c >= a.shape[1]) throw new CliException($"--channel {c} is out of range: {r.Layer} has {a.shape[1]} channels (0..{a.shape[1] - 1}).");
            }
            return (Target.Channel(r.Layer, c), $"channel {c} of {r.Layer}");
        }
        if (r.Channel is not null) throw new CliException($"--channel is for the resnet18 backbone; --model {r.Model.ToString().ToLowerInvariant()} takes --class N.");
        long k = r.Class ?? m.Predict(input)!.Value.Index;
        if (k < 0 || k >= m.Classes!.Count) throw new CliException($"--class {k} is out of range: the model has {m.Classes.Count} classes (0..{m.Classes.Count - 1}).");
        return (Target.Class(k), $"class {k} '{m.Classes[(int)k]}'");
    }

    static CliModel Open(Request r, IAnsiConsole console)
    {
        foreach (var path in r.Images)
        {
            if (!File.Exists(path)) throw new CliException($"image file not found: {path}");
            try { InputGradients.Imaging.ImageIO.Load(path).Dispose(); }
            catch (InvalidDataException e) { throw new CliException(e.Message); }
        }
        InputGradients.Runtime.LibraryRuntime.Ensure();
        if (r.Threads is { } t) torch.set_num_threads(Limits.Whole("--threads", t, 1, Limits.MaxThreads));
        var model = CliModel.Load(r.Model, r.Weights);
        console.MarkupLineInterpolated($"model: [bold]{r.Model.ToString().ToLowerInvariant()}[/], input {model.Size}x{model.Size}");
        return model;
    }

    static int RunSanity(Request r, string[] names, IAnsiConsole console)
    {
        OutputGuard.CheckFolder(r.Out, r.Inputs);
        using var m = Open(r, console);
        var camLayer = r.CamLayer ?? m.CamLayer;
        var checks = new SanityChecks(m.Net) { Seed = r.Seed };
        foreach (var path in r.Images)
        {
            using var scope = NewDisposeScope();
            var (_, input) = m.LoadImage(path);
            var (target, description) = Choose(m, r, input);
            // The backbone's taps are not hooked modules: randomise whole stages from the top.
            IReadOnlyList<string> layers = m.Kind == ModelKind.Resnet18 ? ["layer4", "layer3", "layer2", "layer1", "stem"] : checks.layers_top_down(input);
            console.MarkupLineInterpolated($"sanity of [bold]{path}[/]: {description}; randomising {string.Join(" -> ", layers)}");
            var results = names.Select(n => { var method = Make(n, m, camLayer); return (n, checks.cascading(method.Attribute, input, target, layers)); }).ToList();
            console.WriteLine(TrustReport.sanity_table(results));
            var file = Path.Combine(r.Out, $"{Path.GetFileNameWithoutExtension(path)}.sanity.png");
            OutputGuard.Check(file, r.Inputs);
            Directory.CreateDirectory(r.Out);
            TrustReport.sanity_grid(results, 0, $"|map| as the layers are randomised from the top: {Path.GetFileName(path)}", 96).SavePng(file);
            console.MarkupLineInterpolated($"  wrote [green]{file}[/]");
        }
        return 0;
    }

    static int RunFaithfulness(Request r, string[] names, bool defaultMethods, int perStep, double[] roadFractions, IAnsiConsole console)
    {
        if (r.Model == ModelKind.Resnet18)
        {
            // Score-CAM and occlusion score the model output; the backbone's target is a channel of a layer.
            string[] outputOnly = ["scorecam", "occlusion"];
            if (!defaultMethods && names.Intersect(outputOnly).FirstOrDefault() is { } bad)
                throw new CliException($"--methods: {bad} needs a class score; the resnet18 backbone has no classes (use saliency, ig, guided, gradcam, layercam or hirescam).");
            if (names.Intersect(outputOnly).Any())
                console.MarkupLine("[grey]scorecam and occlusion left out: they need a class score, which the resnet18 backbone has not[/]");
            names = names.Except(outputOnly).ToArray();
        }
        OutputGuard.CheckFolder(r.Out, r.Inputs);
        using var m = Open(r, console);
        var camLayer = r.CamLayer ?? m.CamLayer;
        long hw = (long)m.Size * m.Size;
        int step = perStep == 0 ? (int)Math.Max(1, hw / 50) : Limits.Whole("--pixels-per-step", perStep, 1, 1_000_000);
        var f = new InputGradients.Metrics.Faithfulness(m.Net) { PixelsPerStep = step, Seed = r.Seed, RoadFractions = roadFractions };
        var methods = names.Select(n => Make(n, m, camLayer))
            .Append(new NamedMethod("sobel", (x, _) => PixelMaps.sobel_map(x)))
            .Append(new NamedMethod("random", (x, _) => PixelMaps.random_map(x.shape[0], x.shape[2], x.shape[3], r.Seed)));
        foreach (var path in r.Images)
        {
            using var scope = NewDisposeScope();
            var (_, input) = m.LoadImage(path);
            var (target, description) = Choose(m, r, input);
            console.MarkupLineInterpolated($"faithfulness of [bold]{path}[/]: {description}; {step} pixels per step");
            console.WriteLine(TrustReport.table(TrustReport.faithfulness(f, input, target, methods)));
        }
        return 0;
    }
}
