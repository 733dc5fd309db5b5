using System.Reflection;
using System.Runtime.Loader;

namespace InputGradients.Runtime;

/// <summary>
/// Plotly.NET 6 is compiled against FSharp.Core 10.1, but the notebook kernels (dotnet-interactive, dotnet repl)
/// already run on their own FSharp.Core 10.0, and the default load context refuses a lower version than the
/// reference asks for: <c>Chart.Line</c> then throws FileNotFoundException. FSharp.Core keeps binary
/// compatibility within a major version for what Plotly.NET uses, so hand back the FSharp.Core that is already
/// loaded (or, when none is, the one shipped beside this library). Idempotent and thread-safe.
/// </summary>
public static class PlotlyRuntime
{
    static readonly object Gate = new();
    static bool installed;

    public static void EnsureFSharpCore()
    {
        lock (Gate)
        {
            if (installed) return;
            AssemblyLoadContext.Default.Resolving += ResolveFSharpCore;
            installed = true;
        }
    }

    static Assembly? ResolveFSharpCore(AssemblyLoadContext context, AssemblyName name)
    {
        if (!string.Equals(name.Name, "FSharp.Core", StringComparison.Ordinal)) return null;
        var loaded = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => string.Equals(a.GetName().Name, "FSharp.Core", StringComparison.Ordinal))
            .OrderByDescending(a => a.GetName().Version)
            .FirstOrDefault();
        if (loaded is not null) return loaded;
        var beside = Path.Combine(Path.GetDirectoryName(typeof(PlotlyRuntime).Assembly.Location) ?? ".", "FSharp.Core.dll");
        return File.Exists(beside) ? context.LoadFromAssemblyPath(beside) : null;
    }
}

/// <summary>Everything the library needs from the process before TorchSharp or Plotly.NET are used.</summary>
public static class LibraryRuntime
{
    /// <summary>
    /// Loads TorchSharp's natives (<see cref="TorchRuntime.EnsureLoaded"/>), binds FSharp.Core for Plotly.NET and
    /// chooses the convolution kernels that compute right on this CPU (<see cref="ConvolutionRoute.Ensure"/>).
    /// </summary>
    public static void Ensure()
    {
        PlotlyRuntime.EnsureFSharpCore();
        TorchRuntime.EnsureLoaded();
        ConvolutionRoute.Ensure();
    }

    /// <summary>One line on what this process runs on: versions, threads, the convolution route and why.</summary>
    public static string Describe()
    {
        Ensure();
        var route = ConvolutionRoute.Ensure();
        string versions = TorchRuntime.Info is { } info
            ? $"TorchSharp {info.TorchSharpVersion}, libtorch {info.LibtorchVersion}, {info.OpenMpWaiting}, {info.Allocator}"
            : $"TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}";
        string nnpack = route.Nnpack ? "" : $"; NNPACK off ({route.NnpackNote.ToLowerInvariant()})";
        return $"{versions}, {TorchSharp.torch.get_num_threads()} threads; {route.Summary}{nnpack}";
    }
}
