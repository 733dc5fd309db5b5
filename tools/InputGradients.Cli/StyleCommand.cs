using InputGradients.Core;
using InputGradients.Experiments;
using System.CommandLine;
using InputGradients.Imaging;
using InputGradients.Models.ImageNet;
using InputGradients.Synthesis.Style;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Cli;

/// <summary>
/// <c>inputgrad style CONTENT STYLE -o out.png</c>: Gatys et al.'s style transfer on the ImageNet ResNet-18 backbone.
/// Defaults (chosen by looking at the results on data/images with data/styles): content at <c>layer2</c>, style Gram
/// matrices at <c>stem.relu, layer1, layer2, layer3</c>, L-BFGS from the content image, weights normalised by each
/// target's energy (<see cref="EnergyWeights"/>, shared with the bench).
/// </summary>
public static class StyleCommand
{
    const string ContentLayer = EnergyWeights.ContentLayer;
    static readonly IReadOnlyList<string> StyleLayers = EnergyWeights.StyleLayers;
    const double ContentWeight = EnergyWeights.ContentWeight, StyleWeight = EnergyWeights.StyleWeight, TvWeight = EnergyWeights.TvWeight;

    public static Command Create(IAnsiConsole console, bool live)
    {
        var content = new Argument<string>("content") { Description = "Content image file (the photo)." };
        var style = new Argument<string>("style") { Description = "Style image file (the painting)." };
        var output = new Option<string>("--out", "-o") { Description = "Output PNG file (never one of the input images).", DefaultValueFactory = _ => Path.Combine(Cli.DefaultOut, "style.png") };
        var size = new Option<int>("--size") { Description = $"Shorter side of the result in pixels, {Limits.MinSize} to {Limits.MaxSize} (the style image is resized to the same).", DefaultValueFactory = _ => 256 };
        var iterations = new Option<int?>("--iterations") { Description = $"Iterations, at most {Limits.MaxIterations} (default: 150 for L-BFGS, 200 for Adam)." };
        var optimizer = new Option<string>("--optimizer") { Description = "lbfgs or adam (the original assignment's schedule: lr 3, 0.1 from step 180).", DefaultValueFactory = _ => "lbfgs" };
        var contentWeight = new Option<double>("--content-weight") { Description = $"Weight of the content term (0 to {Limits.MaxWeight:G3}).", DefaultValueFactory = _ => ContentWeight };
        var styleWeight = new Option<double>("--style-weight") { Description = $"Weight of the style terms, each layer's (0 to {Limits.MaxWeight:G3}).", DefaultValueFactory = _ => StyleWeight };
        var tvWeight = new Option<double>("--tv-weight") { Description = $"Weight of the total-variation term (0 to {Limits.MaxWeight:G3}).", DefaultValueFactory = _ => TvWeight };
        var contentLayer = new Option<string>("--content-layer") { Description = "Content layer (a backbone tap).", DefaultValueFactory = _ => ContentLayer };
        var styleLayers = new Option<string>("--style-layers") { Description = "Style layers, comma-separated.", DefaultValueFactory = _ => string.Join(",", StyleLayers) };
        var threads = new Option<int?>("--threads") { Description = $"Torch threads, 1 to {Limits.MaxThreads} (default: torch's choice)." };
        var cmd = new Command("style", "Neural style transfer (Gatys et al. 2016) of CONTENT in the style of STYLE on the ImageNet ResNet-18 backbone.")
        {
            content, style, output, size, iterations, optimizer, contentWeight, styleWeight, tvWeight, contentLayer, styleLayers, threads,
        };
        cmd.SetAction(p => Cli.Guard(console, () => Run(console, live, p.GetValue(content)!, p.GetValue(style)!, p.GetValue(output)!,
            p.GetValue(size), p.GetValue(iterations), p.GetValue(optimizer)!, p.GetValue(contentWeight), p.GetValue(styleWeight),
            p.GetValue(tvWeight), p.GetValue(contentLayer)!, p.GetValue(styleLayers)!, p.GetValue(threads))));
        return cmd;
    }

    public static int Run(IAnsiConsole console, bool live, string contentPath, string stylePath, string outPath, int size, int? iterations,
        string optimizerName, double cw, double sw, double tw, string contentLayer, string styleLayerList, int? threads)
    {
        var optimizer = optimizerName.ToLowerInvariant() switch
        {
            "lbfgs" or "l-bfgs" => StyleOptimizer.LBFGS,
            "adam" => StyleOptimizer.Adam,
            _ => throw new CliException($"--optimizer '{optimizerName}' is not one of lbfgs, adam."),
        };
        Limits.Whole("--size", size, Limits.MinSize, Limits.MaxSize);
        int steps = Limits.Whole("--iterations", iterations ?? (optimizer == StyleOptimizer.LBFGS ? 150 : 200), 1, Limits.MaxIterations);
        foreach (var (w, name) in new[] { (cw, "--content-weight"), (sw, "--style-weight"), (tw, "--tv-weight") })
            Limits.Real(name, w, 0, Limits.MaxWeight);
        if (threads is { } n) Limits.Whole("--threads", n, 1, Limits.MaxThreads);
        var styleLayers = styleLayerList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (styleLayers.Length == 0) throw new CliException("--style-layers is empty.");
        foreach (var path in new[] { contentPath, stylePath }) if (!File.Exists(path)) throw new CliException($"image file not found: {path}");
        OutputGuard.Check(outPath, [contentPath, stylePath]);
        if (Directory.Exists(outPath)) throw new CliException($"--out {outPath} is a folder; style writes one PNG file.");
        InputGradients.Runtime.LibraryRuntime.Ensure();   // TorchSharp's natives, before the first torch call
        if (threads is { } t) torch.set_num_threads(t);

        using var scope = NewDisposeScope();
        ResNet18Backbone net;
        try { net = ResNet18Backbone.Load(); }
        catch (FileNotFoundException e) { throw new CliException(e.Message); }
        using var _net = net;
        foreach (var l in styleLayers.Append(contentLayer))
            if (!net.TapNames.Contains(l)) throw new CliException($"layer '{l}' is not a tap of the backbone; taps: {string.Join(", ", net.TapNames)}.");

        var contentImage = Load(net, contentPath, size);
        var styleImage = Load(net, stylePath, size, cropFrame: true);
        var mean = net.MeanBgr.Select(v => (double)v).ToArray();
        var lo = tensor(mean.Select(m => (float)-m).ToArray()).view(1, 3, 1, 1);
        var hi = tensor(mean.Select(m => (float)(255 - m)).ToArray()).view(1, 3, 1, 1);

        var options = EnergyWeights.Options(net, contentImage, styleImage, contentLayer, styleLayers, cw, sw, tw) with
        {
            Iterations = steps, Optimizer = optimizer, LearningRate = optimizer == StyleOptimizer.LBFGS ? 1.0 : 3.0,
            ClampUntil = optimizer == StyleOptimizer.LBFGS ? int.MaxValue : 190, FrameAt = [],
        };
        var layersText = string.Join(", ", styleLayers);
        console.MarkupLineInterpolated($"style transfer: [bold]{contentPath}[/] in the style of [bold]{stylePath}[/], {contentImage.shape[3]}x{contentImage.shape[2]} px, {steps} {optimizer} iterations; content {contentLayer}, style {layersText}");
        var result = ProgressBar.Run(console, live, "style transfer", steps, done =>
            new StyleTransfer(net, lo, hi).run(contentImage, styleImage, options, new ProgressReport<StyleProgress>(p => done(p.Iteration))));
        using (result)
        {
            var last = result.History[^1];
            console.MarkupLineInterpolated($"  final losses: content {last.Content:G3}, style {last.Style:G3}, tv {last.Tv:G3}");
            var rgb = net.Deprocess(result.Image)[0].div_scalar(255).clamp_scalar(0, 1);
            Render.Save(rgb, outPath, enlarge: false);
        }
        console.MarkupLineInterpolated($"  wrote [green]{outPath}[/]");
        return 0;
    }

    /// <summary>An image file → backbone input at shorter side <paramref name="size"/>. Paintings often carry a frame or
    /// a margin: <paramref name="cropFrame"/> drops 4% at each edge first.</summary>
    static Tensor Load(ResNet18Backbone net, string path, int size, bool cropFrame = false)
    {
        var image = CliModel.Read(path, PixelScale.Byte);
        using var scope = NewDisposeScope();
        using (image)
        {
            var x = image;
            if (cropFrame)
            {
                long h = x.shape[1], w = x.shape[2], dh = h * 4 / 100, dw = w * 4 / 100;
                x = x[.., (int)dh..(int)(h - dh), (int)dw..(int)(w - dw)];
            }
            var resized = Transforms.Resize(x.contiguous(), size);
            return net.Preprocess(resized.unsqueeze(0)).MoveToOuterDisposeScope();
        }
    }
}
