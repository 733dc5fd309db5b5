using InputGradients.Data;
using InputGradients.Experiments;
using InputGradients.Models;
using InputGradients.Tests.Models;
using Plotly.NET;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Experiments;

/// <summary>Top classes, predictions and confusion matrices against direct computations.</summary>
public class PredictionsTests
{
    [Fact]
    public void Top_classes_are_the_largest_softmax_probabilities_computed_by_hand()
    {
        var logits = tensor(new float[,] { { 2.0f, 0.5f, -1.0f, 3.0f }, { 0.0f, 0.0f, 1.0f, -2.0f } });
        var names = new[] { "a", "b", "c", "d" };
        var top = Predictions.TopClasses(logits, names, 3);
        // Row 0: exp(2), exp(0.5), exp(-1), exp(3) over their sum.
        double z = Math.Exp(2) + Math.Exp(0.5) + Math.Exp(-1) + Math.Exp(3);
        Assert.Equal(new[] { 3, 0, 1 }, top[0].Select(t => t.Class));
        Assert.Equal(Math.Exp(3) / z, top[0][0].Probability, 6);
        Assert.Equal(Math.Exp(0.5) / z, top[0][2].Probability, 6);
        Assert.Equal("d", top[0][0].Name);
        // Row 1: a tie between classes 0 and 1: the lower index first.
        Assert.Equal(new[] { 2, 0, 1 }, top[1].Select(t => t.Class));
        Assert.Throws<ArgumentException>(() => Predictions.TopClasses(logits, names.Take(3).ToArray()));
    }

    [Fact]
    public void Confusion_matrix_counts_each_pair_and_its_diagonal_is_the_accuracy()
    {
        var labels = tensor(new long[] { 0, 0, 1, 2, 2, 2 });
        var predicted = tensor(new long[] { 0, 1, 1, 2, 0, 2 });
        var m = Predictions.ConfusionMatrix(labels, predicted, 3);
        Assert.Equal(new long[,] { { 1, 1, 0 }, { 0, 1, 0 }, { 1, 0, 2 } }, m);
        Assert.Equal(4.0 / 6, Predictions.Accuracy(m), 12);
        Assert.Throws<ArgumentException>(() => Predictions.ConfusionMatrix(labels, tensor(new long[] { 0, 1, 1, 2, 3, 2 }), 3));
    }

    [Fact]
    public void Predictions_on_the_committed_samples_match_one_at_a_time_forwards()
    {
        using var model = FashionMnistNet.LoadPretrained();
        var (x, y) = FashionMnist.LoadSamples();
        using (x) using (y)
        {
            var reported = new List<(int, int)>();
            var logits = Predictions.Logits(model, x, batchSize: 5, progress: new ProgressReport<(int Done, int Total)>(reported.Add));
            Assert.Equal(new[] { (5, 16), (10, 16), (15, 16), (16, 16) }, reported);
            using var _ = no_grad();
            for (int i = 0; i < 16; i++)
            {
                using var one = model.call(FashionMnistNet.Normalize(x.narrow(0, i, 1)));
                Assert.True(allclose(one[0], logits[i], 1e-4, 1e-4), $"sample {i}");
            }
            var m = Predictions.ConfusionMatrix(y, Predictions.Predict(model, x), 10);
            Assert.Equal(model.Accuracy(x, y), Predictions.Accuracy(m), 12);
        }
    }

    [RequiresFashionMnistFact]
    public void Confusion_matrix_of_the_test_set_gives_the_recorded_accuracy()
    {
        using var model = FashionMnistNet.LoadPretrained();
        var (x, y) = FashionMnist.Load(train: false);
        using (x) using (y)
        {
            var m = Predictions.ConfusionMatrix(y, Predictions.Predict(model, x), 10);
            for (int c = 0; c < 10; c++) Assert.Equal(1000, Enumerable.Range(0, 10).Sum(j => m[c, j]));
            Assert.Equal(0.9224, Predictions.Accuracy(m), 3);
        }
    }

    [Fact]
    public void Heatmap_carries_values_labels_and_title()
    {
        var chart = MatrixChart.Heatmap(new long[,] { { 5, 1 }, { 0, 7 } }, new[] { "cat", "dog" }, new[] { "cat", "dog" }, "Confusion");
        var json = GenericChart.toJson(chart);
        Assert.Contains("\"heatmap\"", json);
        Assert.Contains("Confusion", json);
        Assert.Contains("\"7\"", json);
        Assert.Contains("\"reversescale\":true", json);
        var clipped = GenericChart.toJson(MatrixChart.Heatmap(new double[,] { { 1, 0.25 }, { 0.25, 1 } }, new[] { "a", "b" }, new[] { "a", "b" }, "sim", zmax: 0.5));
        Assert.Contains("\"zmax\":0.5", clipped);
        Assert.Contains("\"zmin\":0.25", clipped);
        Assert.Contains("\"0.25\"", clipped);
        Assert.Throws<ArgumentException>(() => MatrixChart.Heatmap(new double[2, 3], new[] { "a", "b" }, new[] { "a", "b" }, "x"));
    }
}
