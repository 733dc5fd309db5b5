using InputGradients.Core;
using InputGradients.Layer;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>
/// Channel objectives for a network without a classifier head (the ImageNet ResNet-18 backbone): the "class" of a
/// photo becomes the channel of a layer with the largest mean activation, and attributions explain that channel's mean.
/// </summary>
public static class ChannelObjectives
{
    /// <summary>Mean activation of every channel of <paramref name="layer"/> for each input: N×C.</summary>
    public static Tensor ChannelMeans(nn.Module<Tensor, Tensor> model, Tensor inputs, string layer)
    {
        using var scope = torch.NewDisposeScope();
        var a = new LayerActivation(model, layer).attribute_channels(inputs);
        if (a.dim() < 3) throw new ArgumentException($"ChannelMeans: layer '{layer}' gives shape [{string.Join(",", a.shape)}], expected N×C×h×w.");
        return a.reshape(a.shape[0], a.shape[1], -1).mean(new long[] { 2 }).MoveToOuterDisposeScope();
    }

    /// <summary>The <paramref name="k"/> channels of <paramref name="layer"/> with the largest mean activation for each
    /// input, strongest first: N arrays of k channel indices.</summary>
    public static long[][] TopChannels(nn.Module<Tensor, Tensor> model, Tensor inputs, string layer, int k = 1)
    {
        using var scope = torch.NewDisposeScope();
        var means = ChannelMeans(model, inputs, layer);
        if (k < 1 || k > means.shape[1]) throw new ArgumentOutOfRangeException(nameof(k), $"TopChannels: layer '{layer}' has {means.shape[1]} channels, asked for {k}.");
        var idx = means.topk(k, dim: 1).indexes.cpu();
        var flat = idx.data<long>().ToArray();
        return Enumerable.Range(0, (int)means.shape[0]).Select(i => flat.Skip(i * k).Take(k).ToArray()).ToArray();
    }

    /// <summary>The most active channel of <paramref name="layer"/> for each input (N indices).</summary>
    public static long[] MostActiveChannels(nn.Module<Tensor, Tensor> model, Tensor inputs, string layer) =>
        TopChannels(model, inputs, layer, 1).Select(c => c[0]).ToArray();

    /// <summary>
    /// Runs <paramref name="attribute"/> once per input with its own objective <c>Target.Channel(layer, channels[i])</c>
    /// and stacks the results along the batch dimension. (One example at a time because a per-example layer
    /// objective cannot follow the rows that Integrated Gradients or SmoothGrad expand a batch into.)
    /// </summary>
    public static Tensor PerImage(Tensor inputs, string layer, long[] channels, Func<Tensor, Target, Tensor> attribute)
    {
        if (channels.Length != inputs.shape[0])
            throw new ArgumentException($"PerImage: {channels.Length} channels for {inputs.shape[0]} inputs.");
        using var scope = torch.NewDisposeScope();
        var parts = new Tensor[channels.Length];
        for (int i = 0; i < channels.Length; i++)
            parts[i] = attribute(inputs.narrow(0, i, 1), Target.Channel(layer, channels[i]));
        return torch.cat(parts, 0).MoveToOuterDisposeScope();
    }
}
