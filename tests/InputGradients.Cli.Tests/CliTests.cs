using InputGradients.Cli;
using InputGradients.Data;
using InputGradients.Imaging;
using Spectre.Console;
using TorchSharp;

namespace InputGradients.Cli.Tests;

/// <summary>Runs inputgrad's command handler in-process on real photos and on broken input.</summary>
public sealed class CliTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("inputgrad-tests-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static (int Exit, string Output) Run(params string[] args)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = 400;   // one message a line
        int exit = Cli.Run(args, console, interactive: false);
        return (exit, text.ToString());
    }

    static string Photo(string name) => DataDirectory.Path("images", name);

    /// <summary>Decodes a written PNG; returns (channels, height, width) and whether it is not a constant image.</summary>
    static (long C, long H, long W, bool Varies) Decode(string path)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        using var image = ImageIO.Load(path);
        return (image.shape[0], image.shape[1], image.shape[2], image.std().item<float>() > 0.01f);
    }

    [Theory]
    [InlineData("saliency")]
    [InlineData("gradcam")]
    [InlineData("guided")]
    [InlineData("guided-gradcam")]
    [InlineData("ig", "--steps", "4")]
    [InlineData("smoothgrad", "--samples", "3")]
    public void Resnet18_method_on_a_photo_writes_the_map_and_the_overlay(string method, params string[] extra)
    {
        var (exit, output) = Run([method, Photo("chelsea.png"), "-o", _dir, "--channel", "273", .. extra]);
        Assert.True(exit == 0, output);
        var map = Path.Combine(_dir, $"chelsea.{method}.layer4-ch273.png");
        var overlay = Path.Combine(_dir, $"chelsea.{method}.layer4-ch273.overlay.png");
        Assert.Equal((3L, 224L, 224L, true), Decode(map));
        Assert.Equal((3L, 224L, 224L, true), Decode(overlay));
        Assert.Contains("channel 273 of layer4", output);
    }

    [Fact]
    public void Default_channel_is_the_most_active_one_of_the_photo()
    {
        var (exit, output) = Run("saliency", Photo("dog.jpg"), "-o", _dir);
        Assert.True(exit == 0, output);
        Assert.Contains("(the most active)", output);
        Assert.Single(Directory.GetFiles(_dir, "dog.saliency.layer4-ch*.overlay.png"));
    }

    [Fact]
    public void Fashion_model_takes_any_photo_and_names_the_predicted_class()
    {
        var (exit, output) = Run("gradcam", "--model", "fashion", Photo("coffee.png"), "-o", _dir);
        Assert.True(exit == 0, output);
        Assert.Contains("(predicted)", output);
        var overlay = Assert.Single(Directory.GetFiles(_dir, "coffee.gradcam.class*.overlay.png"));
        // 28x28 is enlarged by a whole factor (8) to at least 224 pixels.
        Assert.Equal((3L, 224L, 224L, true), Decode(overlay));
    }

    [Fact]
    public void Fooling_on_fashion_writes_the_image_and_its_difference()
    {
        var (exit, output) = Run("fooling", "--model", "fashion", DataDirectory.Path("fashion-mnist", "test-00.png"), "--class", "0", "--steps", "20", "-o", _dir);
        Assert.True(exit == 0, output);
        Assert.Contains("class 0 'T-shirt/top'", output);
        Assert.Single(Directory.GetFiles(_dir, "test-00.fooling.class0.png"));
        Assert.True(Decode(Path.Combine(_dir, "test-00.fooling.class0.difference.png")).Varies);
    }

    [Fact]
    public void Style_transfer_writes_an_image_of_the_requested_size()
    {
        var outFile = Path.Combine(_dir, "styled.png");
        var (exit, output) = Run("style", Photo("chelsea.png"), DataDirectory.Path("styles", "starry_night.jpg"), "-o", outFile, "--size", "48", "--iterations", "2");
        Assert.True(exit == 0, output);
        var (c, h, w, varies) = Decode(outFile);
        Assert.Equal(3, c);
        Assert.Equal(48, Math.Min(h, w));
        Assert.True(varies);
    }

    [Fact]
    public void Corrupt_image_gives_a_clear_error_naming_the_file_and_writes_nothing()
    {
        var bad = Path.Combine(_dir, "broken.jpg");
        var bytes = File.ReadAllBytes(Photo("dog.jpg"));
        File.WriteAllBytes(bad, bytes.AsSpan(0, 200).ToArray());   // a truncated JPEG
        var outDir = Path.Combine(_dir, "out");
        var (exit, output) = Run("saliency", bad, "-o", outDir);
        Assert.NotEqual(0, exit);
        Assert.Contains(bad, output);
        Assert.Contains("inputgrad: error:", output);
        Assert.False(Directory.Exists(outDir) && Directory.EnumerateFiles(outDir).Any());
    }

    [Fact]
    public void Missing_image_gives_a_clear_error()
    {
        var missing = Path.Combine(_dir, "no-such-photo.png");
        var (exit, output) = Run("gradcam", missing, "-o", _dir);
        Assert.NotEqual(0, exit);
        Assert.Contains($"image file not found: {missing}", output);
    }

    [Fact]
    public void Missing_weights_name_the_file()
    {
        var weights = Path.Combine(_dir, "squeezenet1_1.pth");
        var (exit, output) = Run("saliency", "--model", "squeezenet", "--weights", weights, Photo("dog.jpg"), "-o", _dir);
        Assert.NotEqual(0, exit);
        Assert.Contains($"weights file not found: {weights}", output);
        (exit, output) = Run("saliency", "--model", "squeezenet", Photo("dog.jpg"), "-o", _dir);
        Assert.NotEqual(0, exit);
        Assert.Contains("needs --weights", output);
    }

    [Theory]
    [InlineData("--model vgg", "--model 'vgg'")]
    [InlineData("--class 3", "no classifier head")]
    [InlineData("--channel 9999", "out of range")]
    [InlineData("--steps 0", "--steps must be at least 1")]
    public void Bad_options_are_refused_with_a_reason(string options, string expected)
    {
        var method = options.StartsWith("--steps") ? "ig" : "saliency";
        var (exit, output) = Run([method, Photo("chelsea.png"), "-o", _dir, .. options.Split(' ')]);
        Assert.NotEqual(0, exit);
        Assert.Contains(expected, output);
    }
}
