using InputGradients.Theory;
using Plotly.NET;

namespace InputGradients.Tests.Theory;

public class TheoryChartsTests
{
    static int Count(string s, string part) => (s.Length - s.Replace(part, "").Length) / part.Length;

    [Fact]
    public void Region_picture_has_one_filled_polygon_per_region_and_a_label_trace()
    {
        var a = IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Question(2, 2));
        var json = GenericChart.toJson(TheoryCharts.Regions2D(a));
        Assert.Equal(16, Count(json, "\"toself\""));
        Assert.Contains("16 identified", json);
        Assert.Contains("R16", json);
    }

    [Fact]
    public void Sawtooth_and_truth_table_charts_carry_their_data()
    {
        var json = GenericChart.toJson(TheoryCharts.Sawtooth(new[] { 1, 2, 3, 4 }));
        Assert.Contains("L = 4 (16 pieces)", json);
        var plane = GenericChart.toJson(TheoryCharts.TruthTablePlane(BooleanFunction.And, ("AND", ThresholdLogic.AndUnit)));
        Assert.Contains("AND: x₁ + x₂ − 2 = 0", plane);
    }
}
