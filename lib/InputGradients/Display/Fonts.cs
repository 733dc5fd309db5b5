using SkiaSharp;

namespace InputGradients.Display;

/// <summary>
/// Finds a typeface for titles. The SkiaSharp native build used here has no fontconfig, so its default typeface is
/// empty (draws nothing): load a font file instead. Order: env var INPUTGRADIENTS_FONT (a .ttf/.otf path), common
/// sans fonts in the usual font folders, any .ttf there. With none, titles are left out and one warning is printed.
/// </summary>
public static class Fonts
{
    public const string EnvironmentVariable = "INPUTGRADIENTS_FONT";

    static readonly Lazy<SKTypeface?> s_typeface = new(Find);
    static int s_warned;

    /// <summary>The typeface titles use, or null if this machine has no usable font.</summary>
    public static SKTypeface? Typeface => s_typeface.Value;

    static readonly string[] Preferred =
    [
        "DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf", "FreeSans.ttf",
        "Arial.ttf", "arial.ttf", "Helvetica.ttc", "segoeui.ttf",
    ];

    static IEnumerable<string> FontFolders()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        yield return "/usr/share/fonts";
        yield return "/usr/local/share/fonts";
        if (!string.IsNullOrEmpty(home))
        {
            yield return Path.Combine(home, ".local/share/fonts");
            yield return Path.Combine(home, ".fonts");
        }
        yield return "/System/Library/Fonts";
        yield return "/Library/Fonts";
        var windir = Environment.GetEnvironmentVariable("WINDIR");
        if (!string.IsNullOrEmpty(windir)) yield return Path.Combine(windir, "Fonts");
    }

    static SKTypeface? Find()
    {
        SkiaNative.Ensure();
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            var t = File.Exists(env) ? SKTypeface.FromFile(env) : null;
            if (Usable(t)) return t;
            Console.Error.WriteLine($"warning: {EnvironmentVariable}={env} is not a readable font file; searching the usual font folders.");
        }
        // A Skia build with a font manager (Windows, macOS, fontconfig) has a real default.
        if (Usable(SKTypeface.Default)) return SKTypeface.Default;

        var folders = FontFolders().Where(Directory.Exists).ToList();
        foreach (var name in Preferred)
            foreach (var folder in folders)
            {
                var hit = SafeEnumerate(folder, name).FirstOrDefault();
                var t = hit is null ? null : SKTypeface.FromFile(hit);
                if (Usable(t)) return t;
            }
        foreach (var folder in folders)
            foreach (var file in SafeEnumerate(folder, "*.ttf"))
            {
                var t = SKTypeface.FromFile(file);
                if (Usable(t)) return t;
            }
        return null;
    }

    static bool Usable(SKTypeface? t) => t is not null && t.GlyphCount > 0 && t.ContainsGlyph('A');

    static IEnumerable<string> SafeEnumerate(string folder, string pattern)
    {
        try
        {
            return Directory.EnumerateFiles(folder, pattern, new EnumerationOptions
            {
                RecurseSubdirectories = true, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseSensitive,
            }).OrderBy(p => p, StringComparer.Ordinal).ToList();
        }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    internal static void WarnMissingOnce()
    {
        if (Interlocked.Exchange(ref s_warned, 1) == 0)
            Console.Error.WriteLine(
                "warning: no font found, so image titles are left out. Install one (Debian: apt-get install fonts-dejavu-core) " +
                $"or set {EnvironmentVariable} to a .ttf file.");
    }
}
