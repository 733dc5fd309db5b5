using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Data;
using InputGradients.Display;
using InputGradients.Experiments;
using InputGradients.Imaging;
using InputGradients.Layer;
using InputGradients.Models.TorchVision;
using InputGradients.Synthesis;
using Microsoft.DotNet.Interactive;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Interactive;

/// <summary>
/// The original assignment's experiment on torchvision's SqueezeNet 1.1 (the last section of Q6-A). It lives here, not
/// in the notebook, because the weights are usually absent: the notebook cell is one call that prints one line saying
/// how to enable it, instead of a page and a half of code that never ran.
/// </summary>
public static class OriginalExperiment
{
    /// <summary>Environment variable naming a SqueezeNet 1.1 weights file (.pth or .safetensors).</summary>
    public const string WeightsVariable = "SQUEEZENET_WEIGHTS";

    /// <summary>
    /// On the photos <paramref name="rgb"/> (N×3×H×W, RGB on 0-255, N ≥ 1): the predicted class as target, saliency,
    /// Grad-CAM on features.12, guided Grad-CAM, a fooling image of the first photo to class 6 (stingray) and the class
    /// visualisation of class 76 (tarantula) with the original settings. Without the weights it displays one line
    /// saying where to put them; only a missing file skips it (damaged weights or a bug still fail the cell).
    /// </summary>
    public static void SqueezeNet(Tensor rgb)
    {
        SqueezeNet squeeze;
        try
        {
            squeeze = Pretrained.SqueezeNet1_1(download: false, weightsPath: Environment.GetEnvironmentVariable(WeightsVariable));
        }
        catch (FileNotFoundException e)
        {
            Show($"SqueezeNet 1.1 weights not found, so this experiment is skipped. To run it, put squeezenet1_1-b8a52dc0.pth " +
                 $"at {e.FileName ?? "torch hub's cache"} or set {WeightsVariable} to a .pth/.safetensors file, then run this cell again.");
            return;
        }
        using var _ = squeeze;
        var imagenet = ClassNames.ImageNet();
        var sx = Transforms.Normalize(rgb.div_scalar(255), Transforms.ImageNetMean, Transforms.ImageNetStd);
        var sy = squeeze.call(sx).argmax(1);
        var snames = sy.data<long>().Select(k => ClassNames.Short(imagenet[(int)k])).ToArray();
        int n = (int)rgb.shape[0];
        var ssal = Saliency.compute_saliency_maps(sx, Target.Classes(sy), squeeze);
        var scam = new GradCam(squeeze, "features.12").cam(sx, Target.Classes(sy));
        var sggc = new GuidedGradCam(squeeze, "features.12").attribute(sx, Target.Classes(sy));
        var g = new ImageGrid(n).Title("SqueezeNet 1.1: predicted class, saliency, Grad-CAM (features.12), guided Grad-CAM").PanelSize(150)
            .AddBatch(rgb, snames)
            .AddBatch(ssal.unsqueeze(1), snames.Select(_ => "saliency"), ColorMap.Hot, ImageScale.MinMax);
        for (int i = 0; i < n; i++) g.Overlay(rgb[i], scam[i], "Grad-CAM", alpha: 0.5, cmap: ColorMap.Jet);
        g.AddBatch(GuidedBackprop.to_image(sggc).permute(0, 3, 1, 2), snames.Select(_ => "guided Grad-CAM"), null, ImageScale.Unit);
        Show(g);

        var sp = Progress.Show("SqueezeNet fooling -> stingray");
        using var sf = FoolingImage.make(sx.narrow(0, 0, 1), 6, squeeze, progress: new ProgressReport<FoolingProgress>(p => sp.Report(p.Iteration, p.MaxIterations)));
        sp.Report(100, 100);
        Tensor Pixels(Tensor x) => Transforms.Normalize(x, Transforms.ImageNetMean.Select((m, c) => -m / Transforms.ImageNetStd[c]).ToArray(),
            Transforms.ImageNetStd.Select(s => 1 / s).ToArray()).clamp_scalar(0, 1);
        Show($"fooling: succeeded {sf.Succeeded} after {sf.Iterations} steps");
        Show(new ImageGrid(4).Title("SqueezeNet fooling image (target: stingray)").PanelSize(180)
            .Add(rgb[0], $"original: {snames[0]}").Add(Pixels(sf.Image)[0], "fooling: stingray")
            .Add((Pixels(sf.Image)[0] - Pixels(sx.narrow(0, 0, 1))[0]).add_scalar(0.5), "difference", null, ImageScale.Unit)
            .Add((Pixels(sf.Image)[0] - Pixels(sx.narrow(0, 0, 1))[0]).mul_scalar(10).add_scalar(0.5), "difference x10", null, ImageScale.Unit));

        var vp = Progress.Show("SqueezeNet class visualisation: tarantula");
        using var sv = ClassVisualization.create(76, squeeze, new ClassVisualizationOptions
        {
            Seed = 1,
            Progress = new ProgressReport<ClassVisualizationProgress>(p => vp.Report(p.Iteration + 1, p.Iterations)),
        });
        Show(ImageGrid.Row(sv.Frames.Select(f => Pixels(f.Image)[0]), sv.Frames.Select(f => $"tarantula, iter {f.Iteration + 1}")).PanelSize(160));
    }

    /// <summary>In a notebook, a display of the cell; elsewhere a line on standard output.</summary>
    static void Show(object value)
    {
        Notebook.RegisterDisplayFormatters();
        if (KernelInvocationContext.Current is { } context) context.Display(value);
        else Console.WriteLine(value);
    }
}
