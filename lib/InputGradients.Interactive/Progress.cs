using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace InputGradients.Interactive;

/// <summary>
/// Progress of a long loop in one notebook display that updates in place:
/// <code>
/// var p = Progress.Show("fooling");
/// for (int i = 0; i &lt; n; i++) { …; p.Report(i + 1, n); }
/// </code>
/// Outside a notebook kernel it prints a line to stdout at every 10%.
/// </summary>
public static class Progress
{
    public static ProgressReporter Show(string label)
    {
        Notebook.RegisterDisplayFormatters();
        return new ProgressReporter(label ?? "", KernelInvocationContext.Current);
    }
}

/// <summary>Updates one display; updates are throttled (4 a second) so saved notebooks stay small.</summary>
public sealed class ProgressReporter : IProgress<(int Done, int Total)>
{
    static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(250);
    readonly string _label;
    readonly DisplayedValue? _display;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    TimeSpan? _lastUpdate;
    int _lastPrintedDecile = -1;
    bool _shownFinal;

    internal ProgressReporter(string label, KernelInvocationContext? context)
    {
        _label = label;
        _context = context;
        // dotnet repl (headless runs) appends every update as a new output instead of replacing the display:
        // there, show only the final state.
        _headless = context is not null && IsHeadlessRunner();
        if (context is not null && !_headless)
            _display = context.Display(new ProgressState(label, 0, 0, TimeSpan.Zero), "text/html", "text/plain");
    }

    readonly KernelInvocationContext? _context;
    readonly bool _headless;

    static bool IsHeadlessRunner()
        => string.Equals(System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name, "dotnet-repl", StringComparison.OrdinalIgnoreCase);

    public void Report(int done, int total)
    {
        if (total < 0 || done < 0) throw new ArgumentOutOfRangeException(nameof(done), $"progress {done}/{total} must not be negative.");
        bool finished = total > 0 && done >= total;
        if (_headless)
        {
            if (finished && !_shownFinal)
            {
                _shownFinal = true;
                _context!.Display(new ProgressState(_label, done, total, _clock.Elapsed), "text/html", "text/plain");
            }
            return;
        }
        if (_display is not null)
        {
            var now = _clock.Elapsed;
            if (!finished && _lastUpdate is { } last && now - last < MinInterval) return;
            _lastUpdate = now;
            _display.Update(new ProgressState(_label, done, total, now));
            return;
        }
        int decile = total == 0 ? 10 : (int)(10L * Math.Min(done, total) / total);
        if (decile > _lastPrintedDecile)
        {
            _lastPrintedDecile = decile;
            Console.WriteLine(new ProgressState(_label, done, total, _clock.Elapsed).ToString());
        }
    }

    public void Report((int Done, int Total) value) => Report(value.Done, value.Total);
}

/// <summary>One snapshot of a progress display.</summary>
public sealed record ProgressState(string Label, int Done, int Total, TimeSpan Elapsed)
{
    string Count => Total <= 0 ? "starting" : $"{Done}/{Total}";

    public double Fraction => Total <= 0 ? 0 : Math.Clamp(Done / (double)Total, 0, 1);

    public override string ToString()
    {
        const int width = 30;
        int filled = (int)Math.Round(Fraction * width);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Label} [{new string('#', filled)}{new string('-', width - filled)}] {Count} {Elapsed.TotalSeconds:0.0}s");
    }

    public string ToHtml() => string.Create(CultureInfo.InvariantCulture,
        $"<div><span>{WebUtility.HtmlEncode(Label)}</span> <progress value=\"{Done}\" max=\"{Math.Max(Total, 1)}\" style=\"width:240px\"></progress> " +
        $"<span>{Count} &middot; {Elapsed.TotalSeconds:0.0}s</span></div>");
}
