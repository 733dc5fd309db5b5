using InputGradients.Core;
using InputGradients.Data;
using InputGradients.Imaging;
using InputGradients.Models;
using InputGradients.Models.ImageNet;
using InputGradients.Models.TorchVision;
using InputGradients.Synthesis;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Cli;

/// <summary>The networks the CLI knows: how to load one, turn an image file into its input, show an input again,
/// and choose a target.</summary>
public enum ModelKind { Resnet18, Fashion, Squeezenet }

/// <summary>A loaded network with its input conventions.</summary>
public sealed class CliModel : IDisposable
{
    public required ModelKind Kind { get; init; }
    public required nn.Module<Tensor, Tensor> Net { get; init; }
    /// <summary>Image side length the network is fed.</summary>
    public required int Size { get; init; }
    /// <summary>How an image becomes the network's input and back, supplied by the model (valid range, display).</summary>
    public required InputSpace Space { get; init; }
    /// <summary>Input-space bounds of valid pixels, per channel (for clamping synthesised images).</summary>
    public double[] Low => Space.Low;
    public double[] High => Space.High;
    /// <summary>Default Grad-CAM layer.</summary>
    public required string CamLayer { get; init; }
    /// <summary>Class names for class models; null for the ResNet-18 backbone (no classifier head).</summary>
    public IReadOnlyList<string>? Classes { get; init; }
    /// <summary>RGB 0-1 image 3×H×W (already resized) → the image the network sees, C×H×W on 0-1 (grey for Fashion-MNIST).</summary>
    public Func<Tensor, Tensor> ToModelImage { get; init; } = rgb01 => rgb01.alias();
    /// <summary>RGB 0-1 image 3×H×W (already resized) → network input 1×C×H×W.</summary>
    public Tensor ToInput(Tensor rgb01)
    {
        using var scope = NewDisposeScope();
        return Space.from_image(ToModelImage(rgb01).unsqueeze(0)).MoveToOuterDisposeScope();
    }
    /// <summary>Network input 1×C×H×W → RGB or grey image C×H×W on 0-1 (clamped).</summary>
    public Tensor ToImage(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Space.to_image(x)[0].MoveToOuterDisposeScope();
    }
    /// <summary>A gradient with respect to the network input N×C×H×W → the same gradient in the image's channel order
    /// (the ResNet-18 backbone takes BGR; the other models take the image's own channels).</summary>
    public Func<Tensor, Tensor> GradientToImage { get; init; } = g => g;

    public bool HasClasses => Classes is not null;

    public static CliModel Load(ModelKind kind, string? weights)
    {
        switch (kind)
        {
            case ModelKind.Resnet18:
            {
                if (weights is not null) throw new CliException("--weights is not used with --model resnet18 (its weights come with the ONNX graph).");
                ResNet18Backbone net;
                try { net = ResNet18Backbone.Load(); }
                catch (FileNotFoundException e) { throw new CliException(e.Message); }
                return new CliModel { Kind = kind, Net = net, Size = 224, CamLayer = "layer3", Space = net.InputSpace, GradientToImage = net.GradientToRgb };
            }
            case ModelKind.Fashion:
            {
                FashionMnistNet net;
                try { net = weights is null ? FashionMnistNet.LoadPretrained() : FashionMnistNet.Load(weights); }
                catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException) { throw new CliException(e.Message); }
                return new CliModel
                {
                    Kind = kind, Net = net, Size = 28, CamLayer = FashionMnistNet.GradCamLayerName, Classes = ClassNames.FashionMnist(),
                    Space = net.InputSpace, ToModelImage = FashionGrey,
                };
            }
            case ModelKind.Squeezenet:
            {
                if (weights is null)
                    throw new CliException("--model squeezenet needs --weights PATH (torchvision's squeezenet1_1 weights as .pth or .safetensors).");
                if (!File.Exists(weights)) throw new CliException($"weights file not found: {weights}");
                SqueezeNet net;
                try { net = Pretrained.SqueezeNet1_1(weightsPath: weights); }
                // A bad file's message already starts with its name.
                catch (IOException e) { throw new CliException($"cannot load SqueezeNet 1.1 weights: {e.Message}"); }
                catch (Exception e) when (e is not OutOfMemoryException) { throw new CliException($"{weights}: cannot load SqueezeNet 1.1 weights ({e.Message})"); }
                return new CliModel
                {
                    Kind = kind, Net = net, Size = 224, CamLayer = "features.12", Classes = ClassNames.ImageNet(), Space = InputSpace.ImageNet,
                };
            }
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>An image file as a C×H×W tensor; a missing or unreadable file is the user's mistake (one line).</summary>
    internal static Tensor Read(string path, PixelScale scale)
    {
        try { return ImageIO.Load(path, scale); }
        catch (FileNotFoundException) { throw new CliException($"image file not found: {path}"); }
        catch (InvalidDataException e) { throw new CliException(e.Message); }
    }

    /// <summary>An image file → (RGB 0-1 image at the network's size, network input 1×C×H×W).</summary>
    public (Tensor Image, Tensor Input) LoadImage(string path)
    {
        var image = Read(path, PixelScale.Unit);
        using var scope = NewDisposeScope();
        using (image)
        {
            var resized = Transforms.CenterCrop(Transforms.Resize(image, Size), Size);
            var input = ToInput(resized);
            return (ToImage(input).MoveToOuterDisposeScope(), input.MoveToOuterDisposeScope());
        }
    }

    /// <summary>Any photo as a Fashion-MNIST image: grey, and light-on-dark like the training data (a photo with a
    /// light background, judged by its border, is inverted).</summary>
    static Tensor FashionGrey(Tensor rgb01)
    {
        using var scope = NewDisposeScope();
        var grey = rgb01[0].mul_scalar(0.299).add_tensor(rgb01[1], 0.587).add_tensor(rgb01[2], 0.114).unsqueeze(0);
        var border = cat([grey[0, 0], grey[0, -1], grey[0, .., 0], grey[0, .., -1]]).mean().item<float>();
        if (border > 0.5f) grey = grey.rsub_scalar(1);
        return grey.MoveToOuterDisposeScope();
    }

    /// <summary>The network's prediction (class models) or, for the backbone, nothing.</summary>
    public (long Index, string Name)? Predict(Tensor input)
    {
        if (!HasClasses) return null;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var k = Net.call(input).argmax(1).item<long>();
        return (k, Classes![(int)k]);
    }

    /// <summary>The most active channel (mean over positions) of <paramref name="layer"/> for this input.</summary>
    public long MostActiveChannel(Tensor input, string layer)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (_, taps) = LayerTaps.run(Net, input, false, layer);
        var a = taps[layer];
        if (a.dim() != 4) throw new CliException($"layer '{layer}' has shape [{string.Join(",", a.shape)}], not N×C×H×W: it has no channels.");
        return a.mean([2, 3])[0].argmax().item<long>();
    }

    public void Dispose() => Net.Dispose();
}
