using System.Reflection;

namespace InputGradients.Display;

/// <summary>
/// Finds plotly.js 2.28.0 (the version Plotly.NET 6 targets) so charts can carry it inline and render with no
/// internet. Order: env var INPUTGRADIENTS_PLOTLYJS (path to plotly.min.js), then
/// <c>node_modules/plotly.js-dist-min/plotly.min.js</c> in the working directory or the assembly's folder or any
/// parent of them (the repository's npm install), then the copy Plotly.NET ships inside its own assembly.
/// </summary>
public static class PlotlyJs
{
    public const string EnvironmentVariable = "INPUTGRADIENTS_PLOTLYJS";
    public const string Version = "2.28.0";
    const string NpmRelativePath = "node_modules/plotly.js-dist-min/plotly.min.js";

    static readonly Lazy<(string Source, string Origin)> s_script = new(Load);

    /// <summary>The library's source text.</summary>
    public static string Script => s_script.Value.Source;

    /// <summary>Where <see cref="Script"/> came from (a file path, or the Plotly.NET resource).</summary>
    public static string Origin => s_script.Value.Origin;

    static (string, string) Load()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            if (!File.Exists(env))
                throw new FileNotFoundException(
                    $"{EnvironmentVariable} points to '{env}', which does not exist. Point it at plotly.min.js {Version}, " +
                    "or unset it to use the repository's copy (./run setup, or npm ci in the repository root).", env);
            return (File.ReadAllText(env), env);
        }
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory,
                     Path.GetDirectoryName(typeof(PlotlyJs).Assembly.Location) })
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, NpmRelativePath);
                if (File.Exists(candidate)) return (File.ReadAllText(candidate), candidate);
            }
        }
        var embedded = FromPlotlyNet();
        if (embedded is not null) return (embedded, $"Plotly.NET resource plotly-{Version}.min.js");
        throw new FileNotFoundException(
            $"plotly.js {Version} not found: charts need it to render offline. Run `./run setup` (or `npm ci` in the " +
            $"repository root) so that {NpmRelativePath} exists, or set {EnvironmentVariable} to a plotly.min.js file.");
    }

    static string? FromPlotlyNet()
    {
        var asm = typeof(Plotly.NET.GenericChart).Assembly;
        var name = asm.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith($"plotly-{Version}.min.js", StringComparison.Ordinal));
        if (name is null) return null;
        using var stream = asm.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
