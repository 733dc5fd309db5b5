using Spectre.Console;

namespace InputGradients.Cli;

/// <summary>A progress bar on a terminal; a few plain lines otherwise (logs, CI, tests).</summary>
public static class ProgressBar
{
    /// <summary>Runs <paramref name="work"/>, which reports how many of <paramref name="total"/> units are done.</summary>
    public static T Run<T>(IAnsiConsole console, bool live, string description, int total, Func<Action<int>, T> work)
    {
        if (live)
        {
            T result = default!;
            console.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                         new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(description), maxValue: total);
                    result = work(done => task.Value = Math.Min(done, total));
                    task.Value = total;
                });
            return result;
        }
        int lastTenth = -1;
        console.WriteLine($"{description}: 0/{total}");
        var r = work(done =>
        {
            int tenth = (int)(10L * Math.Min(done, total) / total);
            if (tenth > lastTenth && tenth < 10 && done > 0) { lastTenth = tenth; console.WriteLine($"{description}: {done}/{total}"); }
        });
        console.WriteLine($"{description}: done");
        return r;
    }
}
