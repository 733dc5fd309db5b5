using TorchSharp;

namespace InputGradients.Display;

/// <summary>
/// Shorthands for notebook cells: <c>image.AsImage("cat")</c>, <c>saliency.AsHeatmap("saliency", ColorMap.Hot)</c>.
/// They return a one-panel <see cref="ImageGrid"/> (shown as image/png); tensors themselves keep their own display.
/// </summary>
public static class TensorImageExtensions
{
    public static ImageGrid AsImage(this torch.Tensor image, string? title = null, ColorMap? cmap = null,
        ImageScale scale = ImageScale.Auto)
        => ImageGrid.Of(image, title, cmap, scale);

    public static ImageGrid AsHeatmap(this torch.Tensor map, string? title = null, ColorMap? cmap = null,
        ImageScale scale = ImageScale.MinMax)
        => new ImageGrid().Heatmap(map, title, cmap, scale);
}
