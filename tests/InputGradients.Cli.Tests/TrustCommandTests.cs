using InputGradients.Data;

namespace InputGradients.Cli.Tests;

/// <summary><c>inputgrad sanity</c> and <c>inputgrad faithfulness</c>: results on a real photo, one-line errors.</summary>
public sealed class TrustCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("inputgrad-trust-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static string Photo(string name) => DataDirectory.Path("images", name);

    [Fact]
    public void Sanity_prints_the_correlations_and_writes_the_grid()
    {
        var (exit, output) = CliTests.Run("sanity", Photo("dog.jpg"), "-m", "fashion", "--methods", "saliency", "-o", _dir);
        Assert.True(exit == 0, output);
        Assert.Contains("classifier.fc2 -> classifier.fc1", output);
        Assert.Contains("Spearman", output);
        Assert.Contains("HOG similarity", output);
        var png = Path.Combine(_dir, "dog.sanity.png");
        Assert.True(File.Exists(png), output);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
    }

    [Fact]
    public void Faithfulness_prints_every_method_and_both_baselines()
    {
        var (exit, output) = CliTests.Run("faithfulness", Photo("dog.jpg"), "-m", "fashion", "--methods", "saliency,occlusion", "-o", _dir);
        Assert.True(exit == 0, output);
        foreach (var name in new[] { "saliency", "occlusion", "sobel", "random", "deletion AUC", "ROAD" })
            Assert.Contains(name, output);
    }

    [Fact]
    public void Faithfulness_on_the_backbone_scores_a_channel()
    {
        var (exit, output) = CliTests.Run("faithfulness", Photo("dog.jpg"), "-m", "resnet18", "--layer", "layer4", "--channel", "7",
            "--methods", "gradcam", "--pixels-per-step", "5000", "--road-fractions", "0.5", "-o", _dir);
        Assert.True(exit == 0, output);
        Assert.Contains("channel 7 of layer4", output);
        foreach (var name in new[] { "gradcam", "sobel", "random", "deletion AUC", "ROAD" })
            Assert.Contains(name, output);
    }

    [Theory]
    [InlineData("faithfulness", "resnet18", "saliency,occlusion", "--methods: occlusion needs a class score")]
    [InlineData("sanity", "fashion", "saliency,bogus", "--methods: 'bogus' is not one of")]
    [InlineData("faithfulness", "fashion", ",", "--methods: name at least one method")]
    public void Bad_requests_get_one_line(string command, string model, string methods, string message)
    {
        var (exit, output) = CliTests.Run(command, Photo("dog.jpg"), "-m", model, "--methods", methods, "-o", _dir);
        Assert.Equal(1, exit);
        Assert.Contains(message, output);
        Assert.Single(output.Trim().Split('\n'));
    }

    [Fact]
    public void A_missing_image_is_named()
    {
        var (exit, output) = CliTests.Run("sanity", Path.Combine(_dir, "nope.png"), "-m", "fashion", "-o", _dir);
        Assert.Equal(1, exit);
        Assert.Contains("image file not found", output);
    }
}
