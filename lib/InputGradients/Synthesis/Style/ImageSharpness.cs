using InputGradients.Core;
using static TorchSharp.torch;

namespace InputGradients.Synthesis.Style;

/// <summary>How sharp an image is, to compare style-transfer results by a number rather than by eye.</summary>
public static class ImageSharpness
{
    /// <summary>
    /// Mean gradient magnitude: the mean over channels and positions (i, j) with i &lt; H−1, j &lt; W−1 of
    /// <c>sqrt((x[i+1,j] − x[i,j])² + (x[i,j+1] − x[i,j])²)</c>, in the image's own units (e.g. 0-255). Blurred or
    /// flattened images score lower; the photo's own value is the reference.
    /// </summary>
    /// <param name="image">C×H×W or 1×C×H×W, at least 2×2.</param>
    public static double mean_gradient_magnitude(Tensor image)
    {
        var dims = image.dim();
        if (dims is not (3 or 4) || (dims == 4 && image.shape[0] != 1) || image.shape[^1] < 2 || image.shape[^2] < 2)
            throw new ArgumentException(
                $"mean_gradient_magnitude: expected an image C×H×W or 1×C×H×W of at least 2×2, got [{string.Join(",", image.shape)}].");
        using var scope = NewDisposeScope();
        var x = (dims == 4 ? image[0] : image).detach().to_type(ScalarType.Float64);
        long h = x.shape[1], w = x.shape[2];
        var dy = x[.., 1.., ..(int)(w - 1)] - x[.., ..(int)(h - 1), ..(int)(w - 1)];
        var dx = x[.., ..(int)(h - 1), 1..] - x[.., ..(int)(h - 1), ..(int)(w - 1)];
        return dy.pow_scalar(2).add_tensor(dx.pow_scalar(2)).sqrt().mean().item<double>();
    }
}
