using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>An attribution method: one importance value per input element.</summary>
public interface IAttribution
{
    /// <summary>Attributions for a batch. <paramref name="inputs"/> N×C×H×W (or any N×…); result has the same shape.
    /// Never disposes or modifies the inputs; leaves the model as found.</summary>
    Tensor attribute(Tensor inputs, Target target);
}

/// <summary>A layer attribution method: one map per example at the resolution of a layer.</summary>
public interface ILayerAttribution
{
    /// <summary>Name of the layer (from <c>named_modules()</c> or an <see cref="ITappable"/> tap).</summary>
    string Layer { get; }

    /// <summary>Maps of shape N×1×h×w for inputs N×C×H×W, where h×w is the layer's spatial size.
    /// Use <see cref="LayerAttribution.interpolate"/> to bring them to image size.</summary>
    Tensor attribute(Tensor inputs, Target target);
}

/// <summary>Helpers shared by layer attribution methods.</summary>
public static class LayerAttribution
{
    /// <summary>Resizes N×C×h×w maps to N×C×<paramref name="height"/>×<paramref name="width"/>
    /// (bilinear by default, <c>align_corners=false</c> as in PyTorch).</summary>
    public static Tensor interpolate(Tensor maps, long height, long width, InterpolationMode mode = InterpolationMode.Bilinear)
    {
        if (maps.dim() != 4) throw new ArgumentException($"interpolate: expected N×C×h×w maps, got shape [{string.Join(",", maps.shape)}].");
        return mode == InterpolationMode.Nearest
            ? nn.functional.interpolate(maps, new[] { height, width }, mode: mode)
            : nn.functional.interpolate(maps, new[] { height, width }, mode: mode, align_corners: false);
    }

    /// <summary>A layer method's maps (N×1×h×w) brought to the inputs' H×W by bilinear interpolation.</summary>
    /// <example><code>
    /// using var heat = new LayerConductance(model, "features.3").attribute_at_input_size(x, Target.Classes(y));
    /// </code></example>
    public static Tensor attribute_at_input_size(this ILayerAttribution method, Tensor inputs, Target target)
    {
        using var scope = torch.NewDisposeScope();
        var maps = method.attribute(inputs, target);
        return interpolate(maps, inputs.shape[^2], inputs.shape[^1]).MoveToOuterDisposeScope();
    }

    /// <summary>Scales each map to [0, 1] (min-max per example; a constant map becomes 0).</summary>
    public static Tensor normalize_per_example(Tensor maps)
    {
        using var scope = torch.NewDisposeScope();
        var flat = maps.reshape(maps.shape[0], -1);
        var min = flat.min(1, keepdim: true).values;
        var max = flat.max(1, keepdim: true).values;
        var range = (max - min).clamp_scalar(1e-12, null);
        var shape = new long[maps.dim()]; Array.Fill(shape, 1L); shape[0] = maps.shape[0];
        return ((flat - min) / range).reshape(maps.shape).MoveToOuterDisposeScope();
    }
}
