using InputGradients.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace InputGradients.Models;

/// <summary>
/// A small CNN for Fashion-MNIST, input (N,1,28,28) in 0-1 (see <see cref="Normalize"/>), output (N,10) logits.
/// <code>
/// features:   conv1 1->16 3x3  bn1 relu1 pool1   (16,14,14)
///             conv2 16->32 3x3 bn2 relu2 pool2   (32,7,7)
///             conv3 32->64 3x3 bn3 relu3         (64,7,7)   last conv: the Grad-CAM layer
/// classifier: flatten fc1 3136->256 relu4 dropout fc2 256->10
/// </code>
/// Every step is a named module called through <c>call()</c> (inside <see cref="Sequential"/>), and the
/// non-linearities are <see cref="ReLU"/> modules (not in-place), so hooks, guided backprop and Grad-CAM can reach them.
/// Parameter names follow PyTorch's (<c>features.conv1.weight</c>, <c>classifier.fc2.bias</c>, ...).
/// </summary>
public sealed class FashionMnistNet : Module<Tensor, Tensor>
{
    /// <summary>Mean and standard deviation of the training images' pixels (on 0-1), used by <see cref="Normalize"/>.</summary>
    public const float PixelMean = 0.2860f, PixelStd = 0.3530f;

    /// <summary>The network's input space: 0-1 grey standardised by <see cref="PixelMean"/> and <see cref="PixelStd"/>.</summary>
    public static InputGradients.Core.InputSpace Space { get; } = InputGradients.Core.InputSpace.Grey(PixelMean, PixelStd);

    /// <inheritdoc cref="Space"/>
    public InputGradients.Core.InputSpace InputSpace => Space;

    public readonly Sequential features;
    public readonly Sequential classifier;

    /// <summary>Channel widths of conv1..conv3 and fc1; the defaults are those of the committed weights.</summary>
    public FashionMnistNet(int c1 = 16, int c2 = 32, int c3 = 64, int hidden = 256, string name = "FashionMnistNet") : base(name)
    {
        features = Sequential(
            ("conv1", Conv2d(1, c1, 3, padding: 1)),
            ("bn1", BatchNorm2d(c1)),
            ("relu1", ReLU()),
            ("pool1", MaxPool2d(2)),
            ("conv2", Conv2d(c1, c2, 3, padding: 1)),
            ("bn2", BatchNorm2d(c2)),
            ("relu2", ReLU()),
            ("pool2", MaxPool2d(2)),
            ("conv3", Conv2d(c2, c3, 3, padding: 1)),
            ("bn3", BatchNorm2d(c3)),
            ("relu3", ReLU()));
        classifier = Sequential(
            ("flatten", Flatten()),
            ("fc1", Linear(c3 * 7 * 7, hidden)),
            ("relu4", ReLU()),
            ("dropout", Dropout(0.3)),
            ("fc2", Linear(hidden, 10)));
        RegisterComponents();
    }

    /// <summary>Name of the last convolution block's output (after <c>relu3</c>, 64x7x7): the usual Grad-CAM layer.</summary>
    public const string GradCamLayerName = "features.relu3";

    /// <summary>The module <see cref="GradCamLayerName"/>.</summary>
    public Module<Tensor, Tensor> GradCamLayer => Layer(GradCamLayerName);

    /// <summary>The named submodules of <see cref="features"/> and <see cref="classifier"/>, e.g. <c>"features.conv3"</c>.</summary>
    public Module<Tensor, Tensor> Layer(string path) => InputGradients.Core.LayerTaps.find(this, path);

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4 || input.shape[1] != 1 || input.shape[2] != 28 || input.shape[3] != 28)
            throw new ArgumentException(
                $"FashionMnistNet expects input of shape (N,1,28,28), got ({string.Join(",", input.shape)})", nameof(input));
        using var scope = NewDisposeScope();
        return classifier.call(features.call(input)).MoveToOuterDisposeScope();
    }

    /// <summary>Maps images in 0-1 (N,1,28,28) to the network's input space: (x - mean) / std.</summary>
    public static Tensor Normalize(Tensor images01) => images01.sub_scalar(PixelMean).div_scalar(PixelStd);

    /// <summary>
    /// Loads weights saved by <see cref="Module.save(string, bool)"/> (TorchSharp's own format: tensors only,
    /// nothing is executed). Returns the model in eval mode. The file is checked against the model's names, dtypes
    /// and shapes and its own length first (<see cref="Serialization.TorchSharpWeights"/>), so a damaged or hostile
    /// file is refused with one line (<see cref="InvalidDataException"/>) before anything is allocated for it.
    /// </summary>
    public static FashionMnistNet Load(string path, Core.LoadLimits? limits = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"FashionMnistNet weights not found: {path}", path);
        var model = new FashionMnistNet();
        try
        {
            Serialization.TorchSharpWeights.Validate(path, model, limits);
            model.load(path, strict: true);
        }
        catch (Serialization.CheckpointFormatException e)
        {
            model.Dispose();
            throw new InvalidDataException(e.Message, e);
        }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            model.Dispose();
            throw new InvalidDataException($"{path}: cannot load FashionMnistNet weights ({e.Message})", e);
        }
        model.eval();
        return model;
    }

    /// <summary>The weights trained by tools/TrainFashionMnist and committed as data/models/fashion-mnist-cnn.bin.</summary>
    public static FashionMnistNet LoadPretrained() =>
        Load(Data.DataDirectory.Path("models", "fashion-mnist-cnn.bin"));

    /// <summary>Accuracy of the model (in eval mode, no gradient) on images in 0-1 and their labels.</summary>
    public double Accuracy(Tensor images01, Tensor labels, int batchSize = 1000)
    {
        bool wasTraining = training;
        eval();
        try
        {
            using var _ = no_grad();
            long correct = 0, n = images01.shape[0];
            for (long i = 0; i < n; i += batchSize)
            {
                using var scope = NewDisposeScope();
                long len = Math.Min(batchSize, n - i);
                var logits = call(Normalize(images01.narrow(0, i, len)));
                correct += logits.argmax(1).eq(labels.narrow(0, i, len)).sum().item<long>();
            }
            return (double)correct / n;
        }
        finally
        {
            train(wasTraining);
        }
    }
}
