using InputGradients.Attribution;
using InputGradients.Cli;
using InputGradients.Core;
using InputGradients.Data;
using InputGradients.Imaging;
using InputGradients.Layer;
using InputGradients.Models.ImageNet;
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

    internal static (int Exit, string Output) Run(params string[] args)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = 4000;   // one message a line
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

    /// <summary>The backbone takes BGR, so its input gradient must be reordered before it is shown as an RGB picture.
    /// The expected picture is computed here from the library's gradient, with the channel order found by feeding
    /// <c>Preprocess</c> one pure colour at a time (not from the code under test).</summary>
    [Theory]
    [InlineData("guided")]
    [InlineData("guided-gradcam")]
    public void Resnet18_guided_pictures_have_the_gradient_in_RGB_order(string method)
    {
        var (exit, output) = Run([method, Photo("chelsea.png"), "-o", _dir, "--channel", "273"]);
        Assert.True(exit == 0, output);
        using var scope = torch.NewDisposeScope();
        var png = ImageIO.Load(Path.Combine(_dir, $"chelsea.{method}.layer4-ch273.png"), PixelScale.Unit);

        using var model = CliModel.Load(ModelKind.Resnet18, null);
        var net = (ResNet18Backbone)model.Net;
        var (_, input) = model.LoadImage(Photo("chelsea.png"));
        var target = Target.Channel("layer4", 273);
        var gradient = method == "guided"
            ? new GuidedBackprop(net).attribute(input, target)
            : new GuidedGradCam(net, "layer3").attribute(input, target);

        // Which backbone input channel moves when only red (then green, then blue) is switched on.
        var black = net.Preprocess(torch.zeros(1, 3, 1, 1));
        var inputChannelOf = new long[3];
        for (int rgb = 0; rgb < 3; rgb++)
        {
            var colour = torch.zeros(1, 3, 1, 1);
            colour[0, rgb] = torch.tensor(255f);
            inputChannelOf[rgb] = (net.Preprocess(colour) - black).abs().flatten().argmax().item<long>();
        }
        Assert.Equal(3, inputChannelOf.Distinct().Count());
        Assert.NotEqual([0L, 1L, 2L], inputChannelOf);   // the backbone does reorder, or this test proves nothing

        var expected = GuidedBackprop.to_image(gradient.index_select(1, torch.tensor(inputChannelOf)))[0].permute(2, 0, 1);
        double error = (png - expected).abs().max().item<float>();
        Assert.True(error < 0.02, $"{method}: max |PNG - RGB gradient picture| = {error:F4}");
        // Red minus blue: most pixels are near grey, where a close match says little; a swap flips this sign everywhere.
        var redMinusBlue = torch.stack([(png[0] - png[2]).flatten(), (expected[0] - expected[2]).flatten()]);
        double correlation = torch.corrcoef(redMinusBlue)[0, 1].item<float>();
        Assert.True(correlation > 0.9, $"{method}: red minus blue of the PNG against the RGB gradient: correlation {correlation:F3}");
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
    [InlineData("--steps 0", "--steps must be between 1 and 1000, got 0.")]
    public void Bad_options_are_refused_with_a_reason(string options, string expected)
    {
        var method = options.StartsWith("--steps") ? "ig" : "saliency";
        var (exit, output) = Run([method, Photo("chelsea.png"), "-o", _dir, .. options.Split(' ')]);
        Assert.NotEqual(0, exit);
        Assert.Contains(expected, output);
    }

    /// <summary>Every numeric option has a range (README); outside it, one line names the option and the problem, and
    /// nothing runs (an infinite noise or step used to run to the end, a huge count to exhaust memory).</summary>
    [Theory]
    [InlineData("smoothgrad --noise Infinity", "--noise must be a finite number, got Infinity.")]
    [InlineData("smoothgrad --noise NaN", "--noise must be a finite number, got NaN.")]
    [InlineData("smoothgrad --noise -0.1", "--noise must be at least 0, got -0.1.")]
    [InlineData("smoothgrad --noise 1.5", "--noise must be at most 1, got 1.5.")]
    [InlineData("smoothgrad --samples 0", "--samples must be between 1 and 1000, got 0.")]
    [InlineData("smoothgrad --samples 2147483647", "--samples must be between 1 and 1000, got 2147483647.")]
    [InlineData("fooling --lr NaN", "--lr must be a finite number, got NaN.")]
    [InlineData("fooling --lr Infinity", "--lr must be a finite number, got Infinity.")]
    [InlineData("fooling --lr -5", "--lr must be greater than 0, got -5.")]
    [InlineData("fooling --lr 0", "--lr must be greater than 0, got 0.")]
    [InlineData("fooling --lr 1e300", "--lr must be at most 100000, got 1E+300.")]
    [InlineData("fooling --steps 0", "--steps must be between 1 and 10000, got 0.")]
    [InlineData("fooling --steps 2147483647", "--steps must be between 1 and 10000, got 2147483647.")]
    [InlineData("ig --steps 2147483647", "--steps must be between 1 and 1000, got 2147483647.")]
    [InlineData("ig --steps -3", "--steps must be between 1 and 1000, got -3.")]
    [InlineData("saliency --threads 0", "--threads must be between 1 and 1024, got 0.")]
    [InlineData("saliency --threads 2147483647", "--threads must be between 1 and 1024, got 2147483647.")]
    [InlineData("saliency --channel -1", "--channel must be at least 0, got -1.")]
    [InlineData("saliency --model fashion --class -1", "--class must be at least 0, got -1.")]
    [InlineData("classvis --steps 2147483647", "--steps must be between 1 and 10000, got 2147483647.")]
    [InlineData("classvis --seed -1", "--seed must be between 0 and 2147483647, got -1.")]
    [InlineData("style --size 2147483647", "--size must be between 32 and 2048, got 2147483647.")]
    [InlineData("style --size 31", "--size must be between 32 and 2048, got 31.")]
    [InlineData("style --iterations 0", "--iterations must be between 1 and 10000, got 0.")]
    [InlineData("style --iterations 2147483647", "--iterations must be between 1 and 10000, got 2147483647.")]
    [InlineData("style --content-weight NaN", "--content-weight must be a finite number, got NaN.")]
    [InlineData("style --style-weight Infinity", "--style-weight must be a finite number, got Infinity.")]
    [InlineData("style --tv-weight -1", "--tv-weight must be at least 0, got -1.")]
    [InlineData("style --style-weight 1e10", "--style-weight must be at most 1000000000, got 10000000000.")]
    [InlineData("style --threads 0", "--threads must be between 1 and 1024, got 0.")]
    public void Numeric_options_out_of_range_are_refused_naming_the_option(string command, string expected)
    {
        var words = command.Split(' ');
        string[] images = words[0] switch
        {
            "classvis" => [],
            "style" => [Photo("chelsea.png"), DataDirectory.Path("styles", "starry_night.jpg")],
            _ => [Photo("chelsea.png")],
        };
        var output = words[0] == "style" ? Path.Combine(_dir, "styled.png") : _dir;
        var (exit, text) = Run([words[0], .. images, "-o", output, .. words[1..]]);
        Assert.Equal(1, exit);
        Assert.Equal($"inputgrad: error: {expected}", text.Trim());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }
}
