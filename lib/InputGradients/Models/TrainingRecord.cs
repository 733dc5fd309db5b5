using System.Text.Json;

namespace InputGradients.Models;

/// <summary>
/// What a training run recorded beside its weights (<c>weights.json</c> next to <c>weights.bin</c>, written by
/// tools/TrainFashionMnist): the test accuracy it measured, epochs, seed and the command that reproduces it.
/// </summary>
public sealed record TrainingRecord(double TestAccuracy, int Epochs, int Seed, string Command)
{
    /// <summary>Accuracy on the training images and labels the model was fitted to (shuffled ones for a
    /// <c>--shuffle-labels</c> run), when the run recorded it (<c>train_accuracy</c>).</summary>
    public double? TrainAccuracy { get; init; }

    /// <summary>Reads the metadata file beside <paramref name="weightsPath"/> (same name, extension .json).</summary>
    public static TrainingRecord Load(string weightsPath)
    {
        var path = Path.ChangeExtension(weightsPath, ".json");
        if (!File.Exists(path)) throw new FileNotFoundException($"training record not found: {path}", path);
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(path));
            var root = json.RootElement;
            double accuracy = Number(root, "test_accuracy", path);
            if (accuracy is < 0 or > 1 || double.IsNaN(accuracy))
                throw new InvalidDataException($"{path}: test_accuracy {accuracy} is not a fraction in [0, 1]");
            return new TrainingRecord(accuracy, (int)Number(root, "epochs", path), (int)Number(root, "seed", path),
                root.TryGetProperty("command", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "")
            {
                TrainAccuracy = root.TryGetProperty("train_accuracy", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetDouble() : null,
            };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>The record of the committed Fashion-MNIST weights, data/models/fashion-mnist-cnn.json.</summary>
    public static TrainingRecord FashionMnist() => Load(Data.DataDirectory.Path("models", "fashion-mnist-cnn.bin"));

    static double Number(JsonElement root, string name, string path) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetDouble()
            : throw new InvalidDataException($"{path}: no number '{name}'");
}
