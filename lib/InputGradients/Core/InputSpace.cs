using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// How a displayable image (0-1, RGB or grey, N×C×H×W) becomes a model's input and back:
/// <c>input[c] = (Scale · image[ChannelOrder[c]] − Mean[c]) / Std[c]</c>. Each model supplies its own
/// (<c>ResNet18Backbone.InputSpace</c>: 0-255 BGR minus its means; <c>FashionMnistNet.Space</c>: 0-1 grey
/// standardised; <see cref="ImageNet"/> for torchvision models), so nothing else writes these constants out.
/// </summary>
/// <example><code>
/// var x = net.InputSpace.from_image(photo01);        // 1×3×H×W RGB 0-1 -> backbone input
/// var shown = net.InputSpace.to_image(x);            // and back, clamped to 0-1
/// var (low, high) = (net.InputSpace.Low, net.InputSpace.High);   // valid pixels in input units
/// </code></example>
public sealed class InputSpace
{
    /// <summary>Short name for messages ("0-255 BGR minus mean").</summary>
    public string Name { get; }
    /// <summary>Multiplies the 0-1 image first (255 for 0-255 models).</summary>
    public double Scale { get; }
    /// <summary>Subtracted per input channel after scaling.</summary>
    public IReadOnlyList<double> Mean { get; }
    /// <summary>Divides per input channel after subtracting the mean.</summary>
    public IReadOnlyList<double> Std { get; }
    /// <summary>For each input channel, the image channel it holds (BGR models: 2, 1, 0).</summary>
    public IReadOnlyList<int> ChannelOrder { get; }

    /// <summary>Typical standard deviation of natural-image pixels on 0-1 (ImageNet's per-channel stds average 0.226).</summary>
    public const double NaturalPixelStd = 0.226;

    public InputSpace(string name, double scale, IReadOnlyList<double> mean, IReadOnlyList<double> std, IReadOnlyList<int>? channelOrder = null)
    {
        if (!(scale > 0)) throw new ArgumentOutOfRangeException(nameof(scale), $"InputSpace: scale must be positive, got {scale}.");
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"InputSpace: {mean.Count} means and {std.Count} standard deviations; need one of each per channel.");
        if (std.Any(s => !(s > 0))) throw new ArgumentOutOfRangeException(nameof(std), "InputSpace: every standard deviation must be positive.");
        var order = channelOrder ?? Enumerable.Range(0, mean.Count).ToArray();
        if (order.Count != mean.Count || order.OrderBy(i => i).Where((v, i) => v != i).Any())
            throw new ArgumentException($"InputSpace: the channel order must be a permutation of 0..{mean.Count - 1}.");
        (Name, Scale, Mean, Std, ChannelOrder) = (name, scale, mean.ToArray(), std.ToArray(), order.ToArray());
    }

    /// <summary>Number of channels of the image and the input (1 grey, 3 colour).</summary>
    public int Channels => Mean.Count;

    /// <summary>Lowest valid input value per input channel (the image's 0).</summary>
    public double[] Low => Mean.Zip(Std, (m, s) => -m / s).ToArray();
    /// <summary>Highest valid input value per input channel (the image's 1).</summary>
    public double[] High => Mean.Zip(Std, (m, s) => (Scale - m) / s).ToArray();

    /// <summary>
    /// How many input units a unit-variance (ImageNet-normalised) input unit is: Scale·0.226/std, averaged over channels.
    /// 57.6 for the 0-255 backbone (the "58" of <c>ResNet18Backbone.InputScale</c>), about 1 for ImageNet mean/std inputs.
    /// Settings chosen for unit-scale inputs move here with <c>ClassVisualizationOptions.for_input_scale(UnitScale)</c>.
    /// </summary>
    public double UnitScale => Std.Average(s => Scale * NaturalPixelStd / s);

    /// <summary>ImageNet mean/std on RGB 0-1, as torchvision's models take it.</summary>
    public static InputSpace ImageNet { get; } =
        new("ImageNet mean/std RGB", 1, new[] { 0.485, 0.456, 0.406 }, new[] { 0.229, 0.224, 0.225 });

    /// <summary>0-1 grey standardised by <paramref name="mean"/> and <paramref name="std"/>.</summary>
    public static InputSpace Grey(double mean, double std) => new($"0-1 grey, mean {mean}, std {std}", 1, new[] { mean }, new[] { std });

    /// <summary>0-255 BGR minus per-channel means given in B, G, R order.</summary>
    public static InputSpace Bgr255(IReadOnlyList<double> meanBgr) =>
        new("0-255 BGR minus mean", 255, meanBgr, new double[] { 1, 1, 1 }, new[] { 2, 1, 0 });

    /// <summary>Image N×C×H×W on 0-1 (C = <see cref="Channels"/>) → model input. Differentiable; a new tensor.</summary>
    public Tensor from_image(Tensor image01)
    {
        Check(image01, "from_image");
        using var scope = torch.NewDisposeScope();
        var x = image01.index_select(1, Order(image01.device)).mul_scalar(Scale);
        x = (x - Column(Mean, x)) / Column(Std, x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Model input N×C×H×W → image on 0-1 in image channel order, clamped. A new tensor.</summary>
    public Tensor to_image(Tensor input, bool clamp = true)
    {
        Check(input, "to_image");
        using var scope = torch.NewDisposeScope();
        var img = (input * Column(Std, input)).add_tensor(Column(Mean, input)).div_scalar(Scale);
        img = img.index_select(1, Inverse(input.device));
        if (clamp) img = img.clamp_scalar(0, 1);
        return img.MoveToOuterDisposeScope();
    }

    /// <summary>Clamps an input N×C×H×W to the valid pixel range, per channel (a new tensor).</summary>
    public Tensor clamp(Tensor input)
    {
        Check(input, "clamp");
        using var scope = torch.NewDisposeScope();
        return torch.minimum(torch.maximum(input, Column(Low, input)), Column(High, input)).MoveToOuterDisposeScope();
    }

    /// <summary>Per-channel values as a 1×C×1×1 tensor of <paramref name="like"/>'s type and device.</summary>
    public static Tensor Column(IReadOnlyList<double> values, Tensor like) =>
        torch.tensor(values.ToArray(), dtype: like.dtype, device: like.device).view(1, -1, 1, 1);

    Tensor Order(Device d) => torch.tensor(ChannelOrder.Select(i => (long)i).ToArray(), device: d);
    Tensor Inverse(Device d)
    {
        var inv = new long[Channels];
        for (int c = 0; c < Channels; c++) inv[ChannelOrder[c]] = c;
        return torch.tensor(inv, device: d);
    }

    void Check(Tensor t, string what)
    {
        if (t.dim() != 4 || t.shape[1] != Channels)
            throw new ArgumentException($"InputSpace.{what}: expected N×{Channels}×H×W ({Name}), got [{string.Join(",", t.shape)}].");
    }

    public override string ToString() => Name;
}
