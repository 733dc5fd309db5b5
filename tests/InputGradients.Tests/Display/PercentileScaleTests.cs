using InputGradients.Display;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Display;

public class PercentileScaleTests
{
    [Fact]
    public void Values_are_divided_by_the_nearest_rank_percentile_and_clipped()
    {
        // |values| 1..100: the 90th percentile by nearest rank is the 90th smallest, 90.
        var v = arange(1, 101, dtype: ScalarType.Float32);
        v = v * tensor(Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? 1f : -1f).ToArray());   // signs alternate
        var u = PercentileScale.SignedToUnit(v.reshape(1, 100), 90).reshape(100);
        Assert.Equal(0.5 + 0.5 * 45 / 90.0, u[44].item<float>(), 5);     // +45
        Assert.Equal(0.5 - 0.5 * 46 / 90.0, u[45].item<float>(), 5);     // -46
        Assert.Equal(1.0, u[98].item<float>(), 6);                        // +99 clipped
        Assert.Equal(0.0, u[99].item<float>(), 6);                        // -100 clipped
    }

    [Fact]
    public void Each_example_has_its_own_scale_and_zeros_stay_mid_grey()
    {
        var a = tensor(new float[] { 0, 2, 0, 200 }).reshape(2, 1, 1, 2);
        var u = PercentileScale.SignedToUnit(a, 100);
        Assert.Equal(new[] { 0.5f, 1f, 0.5f, 1f }, u.reshape(4).data<float>().ToArray());
        Assert.Equal(0.5f, PercentileScale.SignedToUnit(zeros(1, 4), 99).max().item<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => PercentileScale.SignedToUnit(a, 0));
    }
}
