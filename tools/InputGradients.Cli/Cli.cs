using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace InputGradients.Cli;

/// <summary>
/// The <c>inputgrad</c> command line. Exit codes: 0 done; 1 a problem with the input (missing or corrupt image, missing
/// weights, bad layer or class) or with the options, reported as one line naming the file or option.
/// </summary>
public static class Cli
{
    public const string DefaultOut = "out/inputgrad";

    /// <summary>Runs the command line; <paramref name="console"/> and <paramref name="interactive"/> let tests capture it.</summary>
    public static int Run(string[] args, IAnsiConsole? console = null, bool? interactive = null)
    {
        console ??= AnsiConsole.Console;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        bool live = interactive ?? (!Console.IsOutputRedirected && console.Profile.Capabilities.Interactive);
        // Logs and pipes: an error stays one line (Spectre wraps at a pretend 80 columns otherwise).
        if (!live) console.Profile.Width = Math.Max(console.Profile.Width, 400);
        var o = new Options();
        var root = new RootCommand(
            "inputgrad: what a network looks at (attribution maps), what it can be made to see (fooling images, class " +
            "visualisation), and neural style transfer, on image files. Writes PNG files.");

        foreach (var method in Methods.Attributions)
        {
            var cmd = new Command(method.Name, method.Description) { o.Images };
            o.AddModelOptions(cmd);
            o.AddTargetOptions(cmd);
            foreach (var option in method.Options(o)) cmd.Add(option);
            cmd.SetAction(parse => Guard(console, () => Methods.Attribute(method, o.Read(parse), console, live)));
            root.Add(cmd);
        }

        var fooling = new Command("fooling", "Fooling images (Szegedy et al. 2014): normalised gradient ascent on a target score until " +
                                             "the network predicts it (class models) or for --steps steps (the backbone).") { o.Images };
        o.AddModelOptions(fooling);
        o.AddTargetOptions(fooling);
        fooling.Add(o.Steps(100, Limits.MaxFoolingSteps, "Largest number of steps."));
        fooling.Add(o.Lr);
        fooling.SetAction(parse => Guard(console, () => Methods.Fooling(o.Read(parse), console, live)));
        root.Add(fooling);

        var classvis = new Command("classvis", "Class (or channel) visualisation: gradient ascent from noise with jitter, L2 penalty, blur " +
                                               "and clamping (Simonyan et al. 2014, Yosinski et al. 2015).");
        o.AddModelOptions(classvis);
        o.AddTargetOptions(classvis);
        classvis.Add(o.Steps(200, Limits.MaxClassVisSteps, "Gradient-ascent steps."));
        classvis.Add(o.Seed);
        classvis.SetAction(parse => Guard(console, () => Methods.ClassVis(o.Read(parse), console, live)));
        root.Add(classvis);

        var featvis = new Command("featvis", "Feature visualisation: one image per channel of --layer (--channels 3 42 100), optimised as one " +
                                             "batch; recipe fourier (decorrelated Fourier image, Adam, random pad/jitter/scale/rotate; Olah et al. " +
                                             "2017) or pixels (pixel ascent with jitter and blur).");
        o.AddModelOptions(featvis);
        featvis.Add(o.Layer); featvis.Add(o.Channels); featvis.Add(o.Recipe); featvis.Add(o.Size);
        featvis.Add(o.Steps(128, Limits.MaxClassVisSteps, "Gradient-ascent steps."));
        featvis.Add(o.Seed);
        featvis.SetAction(parse => Guard(console, () => Methods.FeatVis(o.Read(parse), console, live)));
        root.Add(featvis);

        root.Add(StyleCommand.Create(console, live));
        root.Add(TrustCommands.Sanity(o, console, live));
        root.Add(TrustCommands.Faithfulness(o, console, live));
        root.Add(RuntimeCommand.Create(console));
        var config = new InvocationConfiguration { Output = new AnsiWriter(console), Error = new AnsiWriter(console) };
        return root.Parse(args).Invoke(config);
    }

    /// <summary>Runs a command and turns the user's mistakes into one clear line and exit code 1.</summary>
    internal static int Guard(IAnsiConsole console, Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (e is CliException or FileNotFoundException or InvalidDataException or DirectoryNotFoundException
                                      or ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            console.MarkupLineInterpolated($"[red]inputgrad: error: {e.Message}[/]");
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not the user's mistake: keep the type and the first line, which is what a bug report needs.
            var first = e.Message.Split('\n')[0];
            console.MarkupLineInterpolated($"[red]inputgrad: internal error ({e.GetType().Name}): {first}[/]");
            if (Environment.GetEnvironmentVariable("INPUTGRAD_DEBUG") is "1") console.WriteLine(e.ToString());
            else console.WriteLine("(set INPUTGRAD_DEBUG=1 for the stack trace)");
            return 3;
        }
    }

    sealed class AnsiWriter(IAnsiConsole console) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) => console.Write(new Spectre.Console.Text(value.ToString()));
        public override void Write(string? value) { if (value is not null) console.Write(new Spectre.Console.Text(value)); }
        public override void WriteLine(string? value) { Write(value); console.WriteLine(); }
    }
}

/// <summary>Values of the options shared by the image commands.</summary>
public sealed record Request(string[] Images, ModelKind Model, string? Weights, string Out, string Layer, long? Channel, long? Class,
    int? Threads, int Steps, int Samples, double Noise, string? CamLayer, double? Lr, long Seed,
    long[]? Channels = null, string Recipe = "fourier", int Size = 128)
{
    /// <summary>The files the command reads, which it must never write over.</summary>
    public IEnumerable<string?> Inputs => Images.Append(Weights);
}

/// <summary>The option objects (one instance per run, shared by the subcommands).</summary>
sealed class Options
{
    public readonly Argument<string[]> Images = new("images") { Description = "Image files (PNG, JPEG, ...).", Arity = ArgumentArity.OneOrMore };
    public readonly Option<string> Model = new("--model", "-m")
    {
        Description = "resnet18: the ImageNet ResNet-18 backbone (channel targets); fashion: the Fashion-MNIST CNN (any image, made " +
                      "28x28 grey); squeezenet: torchvision's SqueezeNet 1.1 with --weights (ImageNet classes).",
        DefaultValueFactory = _ => "resnet18",
    };
    public readonly Option<string?> Weights = new("--weights") { Description = "Weights file (.pth or .safetensors for squeezenet; .bin for fashion)." };
    public readonly Option<string> Out = new("--out", "-o") { Description = "Output folder (it may hold the inputs; an input file is never written over).", DefaultValueFactory = _ => Cli.DefaultOut };
    public readonly Option<int?> Threads = new("--threads") { Description = $"Torch threads, 1 to {Limits.MaxThreads} (default: torch's choice)." };
    public readonly Option<string> Layer = new("--layer") { Description = "Layer of the channel target (resnet18 taps: stem.relu, layer1..layer4, layer4.pre_relu, ...).", DefaultValueFactory = _ => "layer4" };
    public readonly Option<long?> Channel = new("--channel") { Description = "Channel of --layer to explain (resnet18; default: the image's most active channel)." };
    public readonly Option<long?> Class = new("--class") { Description = "Class to explain (fashion, squeezenet; default: the predicted class)." };
    public readonly Option<int> Samples = new("--samples") { Description = $"SmoothGrad: noisy samples (at most {Limits.MaxSamples}).", DefaultValueFactory = _ => 50 };
    public readonly Option<double> Noise = new("--noise") { Description = $"SmoothGrad: noise standard deviation as a fraction of the input range (0 to {Limits.MaxNoise}).", DefaultValueFactory = _ => 0.15 };
    public readonly Option<string?> CamLayer = new("--cam-layer") { Description = "Grad-CAM layer (default: resnet18 layer3, fashion features.relu3, squeezenet features.12)." };
    public readonly Option<double?> Lr = new("--lr") { Description = $"Fooling: step length in input units (default: 10 for squeezenet, 580 for the backbone's 0-255 input, 1 for fashion); greater than 0, at most {Limits.MaxLr}." };
    public readonly Option<long[]> Channels = new("--channels") { Description = "Channels of --layer, one image each (e.g. --channels 3 42 100; default 0).", AllowMultipleArgumentsPerToken = true };
    public readonly Option<string> Recipe = new("--recipe") { Description = "featvis: fourier (default) or pixels.", DefaultValueFactory = _ => "fourier" };
    public readonly Option<int> Size = new("--size") { Description = $"featvis: image side in pixels, {Limits.MinSize} to 512 (the Fashion-MNIST CNN always takes 28).", DefaultValueFactory = _ => 128 };
    public readonly Option<long> Seed = new("--seed") { Description = "Random seed (0 to 2147483647).", DefaultValueFactory = _ => 0 };
    /// <summary>Each command's --steps option and its largest accepted value.</summary>
    readonly Dictionary<Option<int>, int> _maxSteps = [];

    /// <summary>A --steps option for one command (each command has its own default and limit).</summary>
    public Option<int> Steps(int fallback, int max, string description)
    {
        var option = new Option<int>("--steps") { Description = $"{description} At most {max}.", DefaultValueFactory = _ => fallback };
        _maxSteps[option] = max;
        return option;
    }

    public void AddModelOptions(Command c) { c.Add(Model); c.Add(Weights); c.Add(Out); c.Add(Threads); }
    public void AddTargetOptions(Command c) { c.Add(Layer); c.Add(Channel); c.Add(Class); }

    public Request Read(ParseResult p)
    {
        var modelName = p.GetValue(Model) ?? "resnet18";
        var model = modelName.ToLowerInvariant() switch
        {
            "resnet18" => ModelKind.Resnet18,
            "fashion" => ModelKind.Fashion,
            "squeezenet" => ModelKind.Squeezenet,
            _ => throw new CliException($"--model '{modelName}' is not one of resnet18, fashion, squeezenet."),
        };
        var stepsOption = p.CommandResult.Command.Options.OfType<Option<int>>().FirstOrDefault(x => x.Name == "--steps");
        var steps = stepsOption is null ? 0 : Limits.Whole("--steps", p.GetValue(stepsOption), 1, _maxSteps[stepsOption]);
        bool Has(Option o) => p.CommandResult.Command.Options.Contains(o);
        var samples = Has(Samples) ? Limits.Whole("--samples", p.GetValue(Samples), 1, Limits.MaxSamples) : 1;
        var noise = Has(Noise) ? Limits.Real("--noise", p.GetValue(Noise), 0, Limits.MaxNoise) : 0;
        var threads = p.GetValue(Threads) is { } t ? Limits.Whole("--threads", t, 1, Limits.MaxThreads) : (int?)null;
        var lr = Has(Lr) && p.GetValue(Lr) is { } l ? Limits.Real("--lr", l, 0, Limits.MaxLr, positive: true) : (double?)null;
        var seed = Has(Seed) ? Limits.Whole("--seed", p.GetValue(Seed), 0, int.MaxValue) : 0;
        // Channels and classes are checked against the model once it is loaded; a negative one is wrong for any model.
        var channel = p.GetValue(Channel) is { } ch ? Limits.Whole("--channel", ch, 0, long.MaxValue) : (long?)null;
        var @class = p.GetValue(Class) is { } k ? Limits.Whole("--class", k, 0, long.MaxValue) : (long?)null;
        var images = p.CommandResult.Command.Arguments.Contains(Images) ? p.GetValue(Images) ?? [] : [];
        var channels = Has(Channels) && p.GetValue(Channels) is { Length: > 0 } cs
            ? cs.Select(c => Limits.Whole("--channels", c, 0, long.MaxValue)).Distinct().ToArray() : null;
        if (channels is { Length: > 64 }) throw new CliException($"--channels: at most 64 channels at once, got {channels.Length}.");
        var recipe = Has(Recipe) ? (p.GetValue(Recipe) ?? "fourier").ToLowerInvariant() : "fourier";
        if (recipe is not ("fourier" or "pixels")) throw new CliException($"--recipe '{recipe}' is not one of fourier, pixels.");
        var size = Has(Size) ? (int)Limits.Whole("--size", p.GetValue(Size), Limits.MinSize, 512) : 128;
        return new Request(images, model, p.GetValue(Weights), p.GetValue(Out) ?? Cli.DefaultOut, p.GetValue(Layer) ?? "layer4",
            channel, @class, threads, steps, samples, noise, p.GetValue(CamLayer), lr, seed, channels, recipe, size);
    }
}
