using static ToolSupport.Tests.ToolProcess;

namespace InputGradients.Cli.Tests;

/// <summary>
/// tools/TrainFashionMnist run as its own process: nonsense settings are refused with one line before any training,
/// and nothing is written into the folder the dataset is read from.
/// </summary>
public sealed class TrainFashionMnistArgumentTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("train-args-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("--lr", "NaN", "--lr NaN: give a finite learning rate")]
    [InlineData("--lr", "-5", "--lr -5: give a finite learning rate")]
    [InlineData("--lr", "Infinity", "give a finite learning rate")]
    [InlineData("--epochs", "0", "--epochs 0: give 1 to 1000")]
    [InlineData("--threads", "-1", "--threads -1: give 1 to 256")]
    [InlineData("--batch", "0", "--batch 0: give 1 to 60000")]
    [InlineData("--batch", "2147483647", "--batch 2147483647: give 1 to 60000")]
    [InlineData("--epochs", "99999999999", "TrainFashionMnist: ")]
    [InlineData("--bogus", "1", "unknown or incomplete option '--bogus'")]
    [InlineData("--subset", "0", "--subset 0: give 1 to 60000")]
    [InlineData("--subset", "60001", "--subset 60001: give 1 to 60000")]
    [InlineData("--shuffle-labels", "-3", "--shuffle-labels -3: give a seed of 0 or more")]
    [InlineData("--shuffle-labels", "x", "TrainFashionMnist: ")]
    [InlineData("--flip", "maybe", "--flip maybe: give on or off")]
    public void Nonsense_settings_are_refused_before_training(string option, string value, string message)
    {
        var (exit, output) = Run("TrainFashionMnist", _dir, option, value, "--out", Path.Combine(_dir, "w.bin"));
        Assert.Equal(2, exit);
        Assert.Contains(message, Unwrapped(output));
        Assert.DoesNotContain("   at ", output);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Nothing_is_written_into_the_data_folder()
    {
        var data = Directory.CreateDirectory(Path.Combine(_dir, "fashion")).FullName;
        var idx = Path.Combine(data, "t10k-images-idx3-ubyte");
        File.WriteAllBytes(idx, [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]);
        var before = HashTree(data);
        foreach (var args in new[] { new[] { "--out", idx }, ["--out", Path.Combine(data, "sub", "..", "w.bin")], ["--export-samples", data] })
        {
            var (exit, output) = Run("TrainFashionMnist", _dir, ["--data", data, .. args]);
            Assert.Equal(2, exit);
            Assert.Contains($"is inside the data folder {data}, which is only read", Unwrapped(output));
        }
        Assert.Equal(before, HashTree(data));
    }
}
