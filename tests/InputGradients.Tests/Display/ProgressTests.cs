using InputGradients.Interactive;

namespace InputGradients.Tests.Display;

[Collection("Console")] // redirects Console.Out
public class ProgressTests
{
    [Fact]
    public void Outside_a_kernel_prints_the_start_and_one_line_per_tenth()
    {
        var original = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        try
        {
            var p = Progress.Show("fooling");
            for (int i = 1; i <= 100; i++) p.Report(i, 100);
        }
        finally
        {
            Console.SetOut(original);
        }
        // Other tests running in parallel may write to the console too: keep our lines.
        var lines = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("fooling [", StringComparison.Ordinal)).ToArray();
        Assert.Equal(11, lines.Length); // the first step (the loop started), then 10%, 20%, …, 100%
        Assert.Contains(" 1/100 ", lines[0]);
        Assert.Contains(" 50/100 ", lines[5]);
        Assert.Contains("100/100", lines[^1]);
        Assert.Contains("[" + new string('#', 30) + "]", lines[^1]);
    }

    [Fact]
    public void Negative_progress_is_rejected()
    {
        var p = Progress.Show("x");
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Report(-1, 10));
    }
}
