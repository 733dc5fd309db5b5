using InputGradients.Display;

namespace InputGradients.Tests.Display;

public class ColorMapTests
{
    // One step of an 8-bit table: our entries are bytes, matplotlib's are floats.
    const double Tol = 0.5 / 255 + 1e-9;

    static void AssertColor((double R, double G, double B) expected, (double R, double G, double B) actual)
    {
        Assert.InRange(actual.R, expected.R - Tol, expected.R + Tol);
        Assert.InRange(actual.G, expected.G - Tol, expected.G + Tol);
        Assert.InRange(actual.B, expected.B - Tol, expected.B + Tol);
    }

    // Expected values: matplotlib's `cm.jet(x)` (its _jet_data segments sampled at 256 entries; entry
    // floor(x * 256) sits at i / 255). jet(0.5) is entry 128 at 128/255, giving red (128/255 - 0.35) / 0.31.
    [Theory]
    [InlineData(0.0, 0.0, 0.0, 0.5)]
    [InlineData(0.25, 0.0, 0.503921568627451, 1.0)]
    [InlineData(0.5, 0.49019607843137253, 1.0, 0.4775458570524984)]
    [InlineData(1.0, 0.5, 0.0, 0.0)]
    public void Jet_matches_matplotlib(double x, double r, double g, double b)
        => AssertColor((r, g, b), ColorMap.Jet.Map(x));

    [Theory]
    [InlineData(0.0, 0.0416, 0.0, 0.0)]
    [InlineData(1.0, 1.0, 1.0, 1.0)]
    public void Hot_matches_matplotlib_ends(double x, double r, double g, double b)
        => AssertColor((r, g, b), ColorMap.Hot.Map(x));

    // matplotlib's bwr is LinearSegmentedColormap.from_list over blue, white, red: entry 128 sits at 128/255,
    // just past white, so red stays 1 and green/blue are 1 - 2 * (128/255 - 0.5) = 0.996078...
    [Theory]
    [InlineData(0.0, 0.0, 0.0, 1.0)]
    [InlineData(0.5, 1.0, 0.996078431372549, 0.996078431372549)]
    [InlineData(1.0, 1.0, 0.0, 0.0)]
    public void Bwr_matches_matplotlib(double x, double r, double g, double b)
        => AssertColor((r, g, b), ColorMap.Bwr.Map(x));

    [Fact]
    public void Grey_is_the_identity_ramp_and_out_of_range_clamps()
    {
        for (int i = 0; i < 256; i++)
        {
            // x in the middle of table entry i.
            var (r, g, b) = ColorMap.Grey.MapToBytes((i + 0.5) / 256.0);
            Assert.Equal((byte)i, r);
            Assert.Equal(r, g);
            Assert.Equal(r, b);
        }
        Assert.Equal(((byte)0, (byte)0, (byte)0), ColorMap.Grey.MapToBytes(-3));
        Assert.Equal(((byte)255, (byte)255, (byte)255), ColorMap.Grey.MapToBytes(7));
        Assert.Equal(((byte)0, (byte)0, (byte)0), ColorMap.Grey.MapToBytes(double.NaN));
    }
}
