using InputGradients.Experiments;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Experiments;

public class ImageChangeTests
{
    [Fact]
    public void Norms_of_a_hand_made_change()
    {
        var a = zeros(1, 1, 2, 2);
        var b = tensor(new float[] { 0, 3, -4, 0 }).reshape(1, 1, 2, 2);
        var c = ImageChange.Between(a, b);
        Assert.Equal(4, c.LInf, 6);
        Assert.Equal(5, c.L2, 6);           // sqrt(9 + 16)
        Assert.Equal(7.0 / 4, c.MeanAbs, 6);
        // A unit scales every number: standardised inputs with std 0.5 to grey levels 0-255 is 0.5 * 255.
        var g = ImageChange.Between(a, b, unit: 0.5 * 255);
        Assert.Equal(4 * 127.5, g.LInf, 3);
        Assert.Equal(5 * 127.5, g.L2, 3);
    }

    [Fact]
    public void Bad_input_is_refused_with_one_line()
    {
        var e = Assert.Throws<ArgumentException>(() => ImageChange.Between(zeros(1, 3, 4, 4), zeros(1, 3, 4, 5)));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageChange.Between(zeros(2), zeros(2), unit: 0));
    }
}

public class MapComparisonTests
{
    [Fact]
    public void Correlation_of_hand_made_maps()
    {
        var a = tensor(new float[] { 1, 2, 3, 4, 1, 2, 3, 4 }).reshape(2, 1, 2, 2);
        var b = tensor(new float[] { 2, 4, 6, 8, 4, 3, 2, 1 }).reshape(2, 1, 2, 2);
        var r = MapComparison.Correlation(a, b);
        Assert.Equal(1, r[0], 9);           // b = 2a
        Assert.Equal(-1, r[1], 9);          // b = 5 - a
        // x = (1, 0, 0, 0), y = (0, 1, 0, 0): centred (3, -1, -1, -1)/4 and (-1, 3, -1, -1)/4: (-3 - 3 + 1 + 1) / 12 = -1/3.
        var x = tensor(new float[] { 1, 0, 0, 0 }).reshape(1, 4);
        var y = tensor(new float[] { 0, 1, 0, 0 }).reshape(1, 4);
        Assert.Equal(-1.0 / 3, MapComparison.Correlation(x, y)[0], 9);
        Assert.True(double.IsNaN(MapComparison.Correlation(ones(1, 4), y)[0]));   // a constant map
    }

    [Fact]
    public void Mass_share_inside_a_box()
    {
        // 3×3 map with values 1..9; the box rows 0-1, columns 1-2 holds 2 + 3 + 5 + 6 = 16 of 45.
        var m = arange(1, 10, dtype: ScalarType.Float32).reshape(1, 1, 3, 3);
        Assert.Equal(16.0 / 45, MapComparison.MassShare(m, new Box(0, 1, 2, 2))[0], 9);
        Assert.True(double.IsNaN(MapComparison.MassShare(zeros(1, 1, 3, 3), new Box(0, 0, 1, 1))[0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => MapComparison.MassShare(m, new Box(2, 2, 2, 1)));
        Assert.Throws<ArgumentException>(() => MapComparison.MassShare(-m, new Box(0, 0, 1, 1)));
    }

    [Fact]
    public void Crop_takes_the_box_and_resizes_it()
    {
        var img = arange(0, 16, dtype: ScalarType.Float32).reshape(1, 1, 4, 4);
        // At its own size the crop is the box itself: rows 1-2, columns 2-3 of 0..15 row-major.
        Assert.Equal(new[] { 6f, 7f, 10f, 11f }, MapComparison.Crop(img, new Box(1, 2, 2, 2), 2).reshape(4).data<float>().ToArray());
        // Enlarged, a constant region stays constant.
        var flat = full(1, 3, 5, 5, 7f);
        Assert.Equal(new long[] { 1, 3, 8, 8 }, MapComparison.Crop(flat, new Box(0, 0, 3, 3), 8).shape);
        Assert.Equal(0f, (MapComparison.Crop(flat, new Box(0, 0, 3, 3), 8) - 7).abs().max().item<float>(), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => MapComparison.Crop(img, new Box(3, 3, 2, 2), 2));
    }
}
