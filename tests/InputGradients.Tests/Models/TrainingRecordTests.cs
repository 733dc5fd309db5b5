using InputGradients.Models;

namespace InputGradients.Tests.Models;

public class TrainingRecordTests
{
    [Fact]
    public void Reads_the_numbers_beside_the_weights()
    {
        var dir = Directory.CreateTempSubdirectory("trainingrecord");
        try
        {
            var weights = Path.Combine(dir.FullName, "net.bin");
            File.WriteAllText(Path.ChangeExtension(weights, ".json"),
                """{ "test_accuracy": 0.8765, "epochs": 3, "seed": 7, "command": "train --fast" }""");
            var r = TrainingRecord.Load(weights);
            Assert.Equal(new TrainingRecord(0.8765, 3, 7, "train --fast"), r);
            Assert.Null(r.TrainAccuracy);
            File.WriteAllText(Path.ChangeExtension(weights, ".json"),
                """{ "test_accuracy": 0.1, "epochs": 3, "seed": 7, "train_accuracy": 0.95 }""");
            Assert.Equal(0.95, TrainingRecord.Load(weights).TrainAccuracy);

            File.WriteAllText(Path.ChangeExtension(weights, ".json"), """{ "test_accuracy": "high" }""");
            var e = Assert.Throws<InvalidDataException>(() => TrainingRecord.Load(weights));
            Assert.Contains("test_accuracy", e.Message);
            File.WriteAllText(Path.ChangeExtension(weights, ".json"), "{ not json");
            Assert.DoesNotContain('\n', Assert.Throws<InvalidDataException>(() => TrainingRecord.Load(weights)).Message);
            File.Delete(Path.ChangeExtension(weights, ".json"));
            Assert.Throws<FileNotFoundException>(() => TrainingRecord.Load(weights));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void The_committed_record_is_the_one_in_the_json_file()
    {
        // Read independently of TrainingRecord: the raw text of data/models/fashion-mnist-cnn.json.
        var text = File.ReadAllText(TestPaths.Data("models", "fashion-mnist-cnn.json"));
        var m = System.Text.RegularExpressions.Regex.Match(text, "\"test_accuracy\":\\s*([0-9.]+),\\s*\"training_seconds\"");
        Assert.True(m.Success);
        Assert.Equal(double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), TrainingRecord.FashionMnist().TestAccuracy);
    }
}
