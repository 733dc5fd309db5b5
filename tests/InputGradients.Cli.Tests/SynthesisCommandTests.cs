using System.Globalization;
using System.Text.RegularExpressions;
using InputGradients.Core;
using InputGradients.Data;
using InputGradients.Imaging;
using InputGradients.Models;
using TorchSharp;

namespace InputGradients.Cli.Tests;

/// <summary>classvis, featvis and fooling run through the library's synthesis parts (objectives, input spaces, one ascent loop).</summary>
public sealed class SynthesisCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("inputgrad-synth-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static (int Exit, string Output) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void Featvis_writes_one_image_per_channel_that_excites_it_more_than_grey()
    {
        var (exit, output) = Run("featvis", "--model", "fashion", "--layer", "features.relu3", "--channels", "1", "5", "--steps", "30", "-o", _dir);
        Assert.True(exit == 0, output);
        using var net = FashionMnistNet.LoadPretrained();
        using var grey = torch.full(new long[] { 1, 1, 28, 28 }, 0.5f);
        using var x = FashionMnistNet.Space.from_image(grey);
        using var a = LayerTaps.run(net, x, false, "features.relu3").layers["features.relu3"];
        foreach (var c in new[] { 1, 5 })
        {
            string file = Path.Combine(_dir, $"featvis.fashion.features.relu3-ch{c}.fourier.png");
            Assert.True(File.Exists(file), output);
            using (var img = ImageIO.Load(file)) Assert.Equal(new long[] { 224, 224 }, img.shape[1..]);   // 28x28 enlarged 8x by the writer
            var printed = double.Parse(Regex.Match(output, $@"channel {c}: mean activation (-?[0-9.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
            double onGrey = a[0, c].mean().item<float>();
            Assert.True(printed > onGrey + 0.1, $"channel {c}: {printed} after ascent, {onGrey} on mid-grey");
        }
    }

    [Theory]
    [InlineData("--recipe blend", "--recipe 'blend' is not one of fourier, pixels.")]
    [InlineData("--channels 999", "--channel 999 is out of range: features.relu3 has")]
    [InlineData("--channels -1", "--channels must be at least 0")]
    public void Featvis_refuses_bad_options_with_one_line(string options, string expected)
    {
        var (exit, output) = Run(["featvis", "--model", "fashion", "--layer", "features.relu3", "--steps", "1", "-o", _dir, .. options.Split(' ')]);
        Assert.Equal(1, exit);
        Assert.Contains(expected, output);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Fooling_the_backbone_towards_a_channel_names_it_without_parsing_a_tag()
    {
        var (exit, output) = Run("fooling", DataDirectory.Path("images", "chelsea.png"), "--channel", "273", "--steps", "2", "-o", _dir);
        Assert.True(exit == 0, output);
        Assert.Contains("towards channel 273 of layer4, step length 576", output);   // 10 × the backbone's input scale 57.6
        Assert.Single(Directory.GetFiles(_dir, "chelsea.fooling.layer4-ch273.png"));
    }

    [Fact]
    public void Classvis_of_a_backbone_channel_writes_an_rgb_image()
    {
        var (exit, output) = Run("classvis", "--channel", "5", "--layer", "layer3", "--steps", "2", "-o", _dir);
        Assert.True(exit == 0, output);
        Assert.Contains("class visualisation of channel 5 of layer3", output);
        using var img = ImageIO.Load(Path.Combine(_dir, "classvis.resnet18.layer3-ch5.png"));
        Assert.Equal(new long[] { 3, 224, 224 }, img.shape);
    }
}
