using InputGradients.Metrics;

namespace InputGradients.Tests.Metrics;

/// <summary>The notebook's and the CLI's tables: means, spreads and undefined correlations by hand.</summary>
public class TrustReportTests
{
    [Fact]
    public void Stats_are_the_mean_and_sample_standard_deviation()
    {
        var (m, s) = FaithfulnessRow.Stats(new double[] { 1, 2, 3, 4 });
        Assert.Equal(2.5, m, 12);
        Assert.Equal(Math.Sqrt(5.0 / 3), s, 12);
        var table = TrustReport.table(new[] { new FaithfulnessRow("x", new double[] { 1, 2, 3, 4 }, new double[] { 0.5 }, new double[] { 0.2, 0.6 }) });
        Assert.Contains("2.500 ± 1.291", table);
        Assert.Contains("0.400 ± 0.283", table);
        Assert.Contains("0.500 ", table);          // one image: the value alone
        Assert.DoesNotContain("0.500 ±", table);
    }

    [Fact]
    public void Undefined_correlations_are_left_out_of_the_mean_and_flagged()
    {
        var none = new SanityStep("none", new double[2][], new double[] { 1, 1 }, new double[] { 1, 1 }, new double[] { 1, 1 }, new double[] { 1, 1 });
        var step = new SanityStep("fc", new double[2][], new double[] { double.NaN, 0.4 }, new double[] { double.NaN, 0.4 }, new double[] { 0.2, 0.6 }, new double[] { double.NaN, -0.3 });
        Assert.Equal(0.4, step.MeanSpearmanAbs, 12);
        Assert.Equal(1, step.Undefined);
        var all_nan = step with { SpearmanAbs = new[] { double.NaN, double.NaN } };
        Assert.True(double.IsNaN(all_nan.MeanSpearmanAbs));
        var text = TrustReport.sanity_table(new[] { ("m", new SanityResult("cascading", 1, 1, new[] { none, step })) });
        Assert.Contains("   0.40*", text);
        Assert.Contains("   0.40 ", text);   // SSIM: mean of 0.2 and 0.6
        Assert.Contains("* 1 map(s) constant", text);
        var hogTable = text[text.IndexOf("HOG similarity", StringComparison.Ordinal)..];
        Assert.Contains("  -0.30 ", hogTable);   // HOG: the one defined value, NaN left out
    }
}
