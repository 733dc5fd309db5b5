using System.Globalization;

namespace InputGradients.Cli;

/// <summary>
/// The accepted range of every numeric option (listed in the README). Values outside are refused with one line naming
/// the option, before any work: an infinite noise or step gives meaningless images, a huge count exhausts memory.
/// </summary>
static class Limits
{
    public const int MaxThreads = 1024;
    public const int MaxIgSteps = 1000, MaxFoolingSteps = 10_000, MaxClassVisSteps = 10_000, MaxSamples = 1000;
    public const double MaxNoise = 1, MaxLr = 100_000;
    public const int MinSize = 32, MaxSize = 2048, MaxIterations = 10_000;
    public const double MaxWeight = 1e9;

    /// <summary>A whole number in [min, max]; <c>long.MaxValue</c> as max means no upper limit here (checked later
    /// against the model, as for channels and classes).</summary>
    public static long Whole(string option, long value, long min, long max)
    {
        if (value >= min && value <= max) return value;
        throw new CliException(max == long.MaxValue
            ? $"{option} must be at least {min}, got {value}."
            : $"{option} must be between {min} and {max}, got {value}.");
    }

    public static int Whole(string option, int value, int min, int max) => (int)Whole(option, (long)value, min, max);

    /// <summary>A finite number in [min, max], or in (min, max] when <paramref name="positive"/>.</summary>
    public static double Real(string option, double value, double min, double max, bool positive = false)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        if (!double.IsFinite(value)) throw new CliException($"{option} must be a finite number, got {text}.");
        if (positive ? value <= min : value < min) throw new CliException($"{option} must be {(positive ? "greater than" : "at least")} {min}, got {text}.");
        if (value > max) throw new CliException($"{option} must be at most {max.ToString(CultureInfo.InvariantCulture)}, got {text}.");
        return value;
    }
}
