using InputGradients.Synthesis.Style;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

public class ImageSharpnessTests
{
    [Fact]
    public void Mean_gradient_magnitude_matches_hand_computed_values()
    {
        // Channel 0: at (0,0) the step down is 4 and the step right 3, so |∇| = 5; channel 1 is flat: 0. Mean 2.5.
        var image = tensor(new float[] { 0, 3, 4, 0, 1, 1, 1, 1 }).view(2, 2, 2);
        Assert.Equal(2.5, ImageSharpness.mean_gradient_magnitude(image), 12);
        Assert.Equal(2.5, ImageSharpness.mean_gradient_magnitude(image.unsqueeze(0)), 12);
        // A ramp x[i, j] = 2i + j: every step down is 2 and right 1, so √5 everywhere.
        var ramp = (2 * arange(4, dtype: ScalarType.Float32).view(4, 1) + arange(5, dtype: ScalarType.Float32).view(1, 5)).unsqueeze(0);
        Assert.Equal(Math.Sqrt(5), ImageSharpness.mean_gradient_magnitude(ramp), 6);
        Assert.Equal(0.0, ImageSharpness.mean_gradient_magnitude(full(new long[] { 3, 4, 4 }, 7f)));
    }

    [Fact]
    public void Bad_shapes_are_refused_with_the_shape_named()
    {
        var e = Assert.Throws<ArgumentException>(() => ImageSharpness.mean_gradient_magnitude(zeros(2, 3, 4, 4)));
        Assert.Contains("[2,3,4,4]", e.Message);
        Assert.Throws<ArgumentException>(() => ImageSharpness.mean_gradient_magnitude(zeros(3, 1, 4)));
        Assert.Throws<ArgumentException>(() => ImageSharpness.mean_gradient_magnitude(zeros(4, 4)));
    }
}
