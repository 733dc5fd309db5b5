using InputGradients.Synthesis.Style;
using InputGradients.Tests.Models;

namespace InputGradients.Tests.Synthesis;

/// <summary>
/// The notebook's self-checks (Q6.B1-B4) on the real backbone and real images: our float32 losses against the
/// float64 values of tests/reference/style_backbone_reference.py (PyTorch reading the same ONNX graph) on the same
/// inputs, with the original's rel_error, which must stay below 1e-4.
/// </summary>
public sealed class StyleBackboneReferenceTests(BackboneFixture fx) : IClassFixture<BackboneFixture>
{
    [Fact]
    public void Losses_on_the_backbone_match_pytorch()
    {
        var r = StyleReferenceCheck.run(fx.Model, TestPaths.Fixture("style"));
        Assert.Equal(["content loss", "Gram matrix", "style loss", "TV loss"], r.Checks.Select(c => c.Name.Split(" layer")[0].Split(" [")[0]));
        Assert.All(r.Checks, c => Assert.True(c.RelError < 1e-4, c.ToString()));
        Assert.All(r.Checks, c => Assert.True(c.Reference > 0 && double.IsFinite(c.Reference), c.ToString()));
        Assert.Equal([1L, 128, 128], r.Gram.shape);
    }

    [Fact]
    public void The_fixture_means_are_the_backbones_own()
    {
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("style", "backbone.json"))).RootElement;
        var means = json.GetProperty("mean_bgr").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        for (var c = 0; c < 3; c++) Assert.Equal(fx.Model.MeanBgr[c], means[c], 1e-3f);
    }
}
