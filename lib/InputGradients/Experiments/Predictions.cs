using InputGradients.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>One of a classifier's top classes for an example: class index, its name and softmax probability.</summary>
public readonly record struct TopClass(int Class, string Name, double Probability)
{
    public override string ToString() => $"{Name} {Probability:P0}";
}

/// <summary>
/// What a classifier says about a set of examples: its top classes with probabilities (<see cref="TopClasses"/>),
/// its predictions over a whole test set (<see cref="Predict"/>) and the confusion matrix (<see cref="ConfusionMatrix"/>).
/// </summary>
public static class Predictions
{
    /// <summary>
    /// The <paramref name="k"/> most probable classes of each row of <paramref name="logits"/> (N,C), by softmax
    /// probability, most probable first (ties: lower class first).
    /// </summary>
    public static TopClass[][] TopClasses(Tensor logits, IReadOnlyList<string> classNames, int k = 3)
    {
        if (logits.dim() != 2)
            throw new ArgumentException($"TopClasses expects logits (N,C), got [{string.Join(", ", logits.shape)}].", nameof(logits));
        int n = (int)logits.shape[0], c = (int)logits.shape[1];
        if (classNames.Count != c)
            throw new ArgumentException($"TopClasses: {c} logits per example but {classNames.Count} class names.", nameof(classNames));
        if (k < 1 || k > c) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and {c}");
        using var p = logits.detach().cpu().to_type(ScalarType.Float64).softmax(1);
        var values = p.data<double>().ToArray();
        var result = new TopClass[n][];
        for (int i = 0; i < n; i++)
        {
            int row = i;
            result[i] = Enumerable.Range(0, c).OrderByDescending(j => values[row * c + j]).Take(k)
                .Select(j => new TopClass(j, classNames[j], values[row * c + j])).ToArray();
        }
        return result;
    }

    /// <summary>
    /// The Fashion-MNIST network's logits (N,10) for images (N,1,28,28) on 0-1, in eval mode without gradients,
    /// in batches of <paramref name="batchSize"/>, reporting (done, total) after each batch.
    /// </summary>
    public static Tensor Logits(FashionMnistNet model, Tensor images01, int batchSize = 1000, IProgress<(int Done, int Total)>? progress = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        bool wasTraining = model.training;
        model.eval();
        try
        {
            return Batched.Map(images01, batchSize, batch => model.call(FashionMnistNet.Normalize(batch)), progress);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>The predicted class (argmax of the logits) of each image: int64 (N).</summary>
    public static Tensor Predict(FashionMnistNet model, Tensor images01, int batchSize = 1000, IProgress<(int Done, int Total)>? progress = null)
    {
        using var logits = Logits(model, images01, batchSize, progress);
        return logits.argmax(1);
    }

    /// <summary>
    /// Counts [true class, predicted class] over the examples: entry (t, p) is how many examples of class t were
    /// predicted as p. Both tensors hold class indices in 0..classes-1, one per example.
    /// </summary>
    public static long[,] ConfusionMatrix(Tensor labels, Tensor predicted, int classes)
    {
        if (labels.dim() != 1 || predicted.dim() != 1 || labels.shape[0] != predicted.shape[0])
            throw new ArgumentException($"ConfusionMatrix expects two vectors of class indices of the same length, got [{string.Join(", ", labels.shape)}] and [{string.Join(", ", predicted.shape)}].");
        using var t = labels.cpu().to_type(ScalarType.Int64);
        using var p = predicted.cpu().to_type(ScalarType.Int64);
        var tv = t.data<long>().ToArray();
        var pv = p.data<long>().ToArray();
        var m = new long[classes, classes];
        for (int i = 0; i < tv.Length; i++)
        {
            if (tv[i] < 0 || tv[i] >= classes || pv[i] < 0 || pv[i] >= classes)
                throw new ArgumentException($"ConfusionMatrix: example {i} has true class {tv[i]} and prediction {pv[i]}, outside 0..{classes - 1}.");
            m[tv[i], pv[i]]++;
        }
        return m;
    }

    /// <summary>Fraction of examples on the diagonal of a confusion matrix (the accuracy).</summary>
    public static double Accuracy(long[,] confusion)
    {
        long total = 0, right = 0;
        for (int i = 0; i < confusion.GetLength(0); i++)
            for (int j = 0; j < confusion.GetLength(1); j++)
            {
                total += confusion[i, j];
                if (i == j) right += confusion[i, j];
            }
        return total == 0 ? double.NaN : (double)right / total;
    }
}
