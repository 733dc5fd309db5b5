using InputGradients.Data;
using InputGradients.Imaging;
using InputGradients.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace InputGradients.Tests.Models;

/// <summary>A fact that is skipped, with the reason, when Debian's dataset-fashion-mnist is not installed.</summary>
public sealed class RequiresFashionMnistFactAttribute : FactAttribute
{
    public RequiresFashionMnistFactAttribute()
    {
        if (!FashionMnist.IsAvailable())
            Skip = $"Fashion-MNIST IDX files not found in {FashionMnist.DebianDirectory}: " +
                   "install the Debian package dataset-fashion-mnist (CI does) to run this test";
    }
}

public class FashionMnistNetTests
{
    static string WeightsPath => DataDirectory.Path("models", "fashion-mnist-cnn.bin");

    [RequiresFashionMnistFact]
    public void CommittedWeightsReachTheClaimedTestAccuracy()
    {
        using var model = FashionMnistNet.Load(WeightsPath);
        var (x, y) = FashionMnist.Load(train: false);
        using (x) using (y)
        {
            Assert.Equal(10_000, x.shape[0]);
            double accuracy = model.Accuracy(x, y);
            Assert.True(accuracy >= 0.92, $"test accuracy {accuracy:P2} < 92%");
            // The metadata beside the weights records what the training run measured: the same number, up to a
            // few images whose prediction may flip with another thread count's float rounding.
            var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(WeightsPath, ".json")));
            double recorded = json.RootElement.GetProperty("test_accuracy").GetDouble();
            Assert.InRange(accuracy, recorded - 0.0005, recorded + 0.0005);
        }
    }

    [RequiresFashionMnistFact]
    public void RandomLabelWeightsFittedTheirShuffledLabelsAndNothingElse()
    {
        // The data randomisation model: the first 5,000 training images, labels shuffled among them by
        // System.Random(1) (data/models/README.md). Re-measured here rather than read from the training tool.
        var path = DataDirectory.Path("models", "fashion-mnist-cnn-random-labels.bin");
        using var model = FashionMnistNet.Load(path);
        var (train, trainLabels) = FashionMnist.Load(train: true);
        var (test, testLabels) = FashionMnist.Load(train: false);
        using (train) using (trainLabels) using (test) using (testLabels)
        {
            var order = Enumerable.Range(0, 5000).ToArray();
            new Random(1).Shuffle(order);
            var labels = trainLabels.narrow(0, 0, 5000).data<long>().ToArray();
            using var shuffled = torch.tensor(order.Select(i => labels[i]).ToArray());
            using var images = train.narrow(0, 0, 5000);
            double fitted = model.Accuracy(images, shuffled), onTrue = model.Accuracy(images, trainLabels.narrow(0, 0, 5000)),
                   onTest = model.Accuracy(test, testLabels);
            var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(path, ".json"))).RootElement;
            Assert.InRange(fitted, json.GetProperty("train_accuracy").GetDouble() - 0.0005, json.GetProperty("train_accuracy").GetDouble() + 0.0005);
            Assert.InRange(onTest, json.GetProperty("test_accuracy").GetDouble() - 0.0005, json.GetProperty("test_accuracy").GetDouble() + 0.0005);
            Assert.True(fitted > 0.9, $"fitted only {fitted:P2} of its shuffled labels");
            // Chance is 10 %: neither the true labels of the same images nor the test set are learned.
            Assert.InRange(onTrue, 0.05, 0.2);
            Assert.InRange(onTest, 0.05, 0.2);
        }
    }

    [RequiresFashionMnistFact]
    public void CommittedSamplesAreTheFirstTestImages()
    {
        var (x, y) = FashionMnist.Load(train: false);
        using (x) using (y)
        {
            var labels = File.ReadAllLines(DataDirectory.Path("fashion-mnist", "labels.tsv")).Skip(1)
                .Select(l => l.Split('\t')).ToArray();
            Assert.Equal(16, labels.Length);
            for (int i = 0; i < 16; i++)
            {
                using var png = ImageIO.Load(DataDirectory.Path("fashion-mnist", labels[i][0]));
                Assert.True(Same(png[0], x[i, 0]), $"{labels[i][0]} differs from test image {i}");
                Assert.Equal(y[i].item<long>(), long.Parse(labels[i][1]));
                Assert.Equal(FashionMnist.ClassNames[(int)y[i].item<long>()], labels[i][2]);
            }
            var (sx, sy) = FashionMnist.Load(train: false, DataDirectory.Path("fashion-mnist"), prefix: "t10k-first16");
            using (sx) using (sy)
            {
                Assert.True(Same(sx, x.narrow(0, 0, 16)));
                Assert.True(Same(sy, y.narrow(0, 0, 16)));
            }
        }
    }

    [Fact]
    public void CommittedWeightsClassifyTheCommittedSamples()
    {
        // Runs without the dataset package: the 16 committed test images, most of which a 92% model gets right.
        using var model = FashionMnistNet.LoadPretrained();
        var (x, y) = FashionMnist.LoadSamples();
        using (x) using (y)
        {
            Assert.True(model.Accuracy(x, y) >= 12 / 16.0);
        }
    }

    [Fact]
    public void ModulesAreNamedAndHooksOnTheGradCamLayerFire()
    {
        using var model = new FashionMnistNet();
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("features.conv1.weight", names);
        Assert.Contains("features.conv3.weight", names);
        Assert.Contains("classifier.fc2.bias", names);
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        Assert.Equal(4, modules.Values.OfType<ReLU>().Count());
        Assert.IsType<ReLU>(model.GradCamLayer);
        Assert.Same(modules["features.relu3"], model.GradCamLayer);
        Assert.Same(modules["features.conv3"], model.Layer("features.conv3"));

        long[]? seen = null;
        model.GradCamLayer.register_forward_hook((m, input, output) => { seen = output.shape; return output; });
        model.eval();
        using var logits = model.call(rand(2, 1, 28, 28));
        Assert.Equal(new long[] { 2, 10 }, logits.shape);
        Assert.NotNull(seen);
        Assert.Equal(new long[] { 2, 64, 7, 7 }, seen);
    }

    [Fact]
    public void WrongInputShapeAndBadWeightFilesAreReported()
    {
        using var model = new FashionMnistNet();
        Assert.Contains("(N,1,28,28)", Assert.Throws<ArgumentException>(() => model.call(rand(1, 3, 28, 28))).Message);
        var missing = Path.Combine(Path.GetTempPath(), "no-such-weights.bin");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => FashionMnistNet.Load(missing)).Message);
        var garbage = Path.Combine(Path.GetTempPath(), $"garbage-{Guid.NewGuid():N}.bin");
        File.WriteAllText(garbage, "not weights");
        try
        {
            Assert.Contains(garbage, Assert.Throws<InvalidDataException>(() => FashionMnistNet.Load(garbage)).Message);
        }
        finally
        {
            File.Delete(garbage);
        }
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
