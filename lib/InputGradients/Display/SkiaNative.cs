using System.Reflection;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace InputGradients.Display;

/// <summary>
/// Lets SkiaSharp find its native library when this library is loaded by <c>#r</c> into a notebook kernel: the
/// kernel's process only probes its own folders, not <c>runtimes/&lt;rid&gt;/native</c> beside our assemblies.
/// Must run before the first SkiaSharp call (a failed native load poisons SkiaSharp for the whole process).
/// </summary>
public static class SkiaNative
{
    static int s_done;

    public static void Ensure()
    {
        if (Interlocked.Exchange(ref s_done, 1) == 1) return;
        var skia = typeof(SKBitmap).Assembly;
        try
        {
            NativeLibrary.SetDllImportResolver(skia, Resolve);
        }
        catch (InvalidOperationException)
        {
            // Someone (the host or another helper) already installed a resolver for SkiaSharp: leave theirs.
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!name.Contains("SkiaSharp", StringComparison.OrdinalIgnoreCase)) return IntPtr.Zero;
        foreach (var candidate in Candidates(name, assembly))
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
                return handle;
        return IntPtr.Zero; // default probing, which works in ordinary apps and tests
    }

    static IEnumerable<string> Candidates(string name, Assembly assembly)
    {
        var file = OperatingSystem.IsWindows() ? name + ".dll" : OperatingSystem.IsMacOS() ? name + ".dylib" : name + ".so";
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string[] rids = [RuntimeInformation.RuntimeIdentifier, $"{os}-{arch}", os];
        foreach (var dir in new[] { Path.GetDirectoryName(assembly.Location), Path.GetDirectoryName(typeof(SkiaNative).Assembly.Location) }
                     .Where(d => !string.IsNullOrEmpty(d)).Distinct())
        {
            foreach (var rid in rids)
                yield return Path.Combine(dir!, "runtimes", rid, "native", file);
            yield return Path.Combine(dir!, file);
        }
    }
}
