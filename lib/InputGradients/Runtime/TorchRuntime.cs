using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace InputGradients.Runtime;

/// <summary>
/// Makes TorchSharp-cpu's native backend load on Linux x64, whatever the system has:
/// <list type="bullet">
/// <item>On a libstdc++ older than GCC 13 (Debian 12), TorchSharp 0.107's <c>libLibTorchSharp.so</c> declares a need
/// for GLIBCXX_3.4.32 that only the empty marker <c>std::ios_base_library_init()</c> uses. A copy with that one
/// requirement marked weak is written to our cache (the NuGet cache is never modified) and loaded instead.</item>
/// <item>libc10, libtorch_cpu and libtorch are loaded by absolute path from TorchSharp's own libtorch package before
/// anything asks for them by name, so a system libtorch (Debian's python3-torch, 1.13) on the library path or in
/// LD_LIBRARY_PATH can never be picked up: glibc hands an already loaded object to any later request for its soname.</item>
/// </list>
/// How TorchSharp loads (read in its Torch.cs, 0.107): the static constructor of <c>torch</c> calls
/// <c>NativeLibrary.TryLoad("torch_cpu"/"LibTorchSharp", typeof(torch).Assembly, null)</c>; if that fails it copies
/// every native file into a "cpu" folder beside TorchSharp.dll and throws a misleading "not restored" error. Its
/// P/Invokes are <c>[DllImport("LibTorchSharp")]</c> and it sets no DllImport resolver. So we (1) preload by absolute
/// path, which makes the by-name loads succeed through glibc's soname matching, and (2) set a DllImport resolver
/// on TorchSharp's assembly that returns our handles, so P/Invokes bind to exactly the files we chose.
/// Idempotent and thread-safe; call before the first use of <c>TorchSharp.torch</c>. Does nothing on other OSes.
/// </summary>
public static class TorchRuntime
{
    /// <summary>The one version requirement we may relax, and the only symbol allowed to need it.</summary>
    public const string NewLibStdCxxVersion = "GLIBCXX_3.4.32";
    public const string NewLibStdCxxMarker = "_ZSt21ios_base_library_initv";
    const string LibStdCxx = "libstdc++.so.6";
    const string Rid = "linux-x64";
    const string OmpWaitPolicy = "OMP_WAIT_POLICY";

    static readonly object Gate = new();
    static volatile TorchNativeInfo? loaded;

    /// <summary>What <see cref="EnsureLoaded"/> loaded, or null before it ran (or off Linux x64).</summary>
    public static TorchNativeInfo? Info => loaded;

    /// <summary>Loads TorchSharp's native backend as described on the class. Safe to call many times, from any thread.</summary>
    /// <exception cref="InvalidOperationException">The fix cannot apply; the message says what to do.</exception>
    public static void EnsureLoaded()
    {
        if (loaded is not null) return;
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return; // TorchSharp's own loading works there; nothing of ours applies.
        lock (Gate)
        {
            if (loaded is not null) return;
            loaded = Load();
        }
    }

    static TorchNativeInfo Load()
    {
        var torchAssembly = typeof(TorchSharp.torch).Assembly; // typeof does not run torch's static constructor
        string torchSharpVersion = TorchSharpVersion(torchAssembly);
        string libtorchVersion = LibtorchVersion(torchAssembly);

        var roots = PackageRoots(torchAssembly).ToList();
        var probed = RuntimeProbedDirectories(torchAssembly).ToList();
        string fallback = Path.Combine(Path.GetDirectoryName(torchAssembly.Location) ?? ".", "runtimes", Rid, "native");

        // Prefer a copy in a directory the runtime itself probes (an app built with native assets copied): TorchSharp's
        // by-name load would open that same file, and two copies of libtorch_cpu in one process abort at start-up.
        string libtorchDir = FindNativeDirectory("libtorch_cpu.so", probed,
            roots.Select(r => Path.Combine(r, "libtorch-cpu-" + Rid, libtorchVersion, "runtimes", Rid, "native")), fallback)
            ?? throw NotFound("libtorch_cpu.so", $"libtorch-cpu-{Rid} {libtorchVersion}", roots);
        string torchSharpDir = FindNativeDirectory("libLibTorchSharp.so", probed,
            roots.Select(r => Path.Combine(r, "torchsharp", torchSharpVersion, "runtimes", Rid, "native")), fallback)
            ?? throw NotFound("libLibTorchSharp.so", $"TorchSharp {torchSharpVersion}", roots);

        string original = Path.Combine(torchSharpDir, "libLibTorchSharp.so");
        string libTorchSharp = original;
        bool patched = false;
        byte[] bytes = File.ReadAllBytes(original);
        var need = ElfVersionNeeds.Read(bytes, original)
            .FirstOrDefault(n => n.Library == LibStdCxx && n.Version == NewLibStdCxxVersion && !n.IsWeak);
        if (need is not null && !LibStdCxxProvides(NewLibStdCxxMarker))
        {
            libTorchSharp = WritePatchedCopy(bytes, original, torchSharpVersion);
            patched = true;
        }

        // libgomp (loaded with libtorch_cpu) reads its wait policy once, when it loads. Its default spins idle threads
        // for a while; with other work on the cores that spinning starves everyone. Measured on a 2-core machine,
        // ResNet-18 forward + backward at batch 5 with two CPU-bound processes beside it: 2.66 s spinning, 0.88 s
        // sleeping (1.7x its quiet time, against 7x); quiet, sleeping costs 0-40 %. A user's own setting wins.
        string? userPolicy = NativeEnvironment.Get(OmpWaitPolicy), userSpin = NativeEnvironment.Get("GOMP_SPINCOUNT");
        string waitPolicy = userPolicy is not null || userSpin is not null
            ? $"{OmpWaitPolicy}={userPolicy ?? "unset"}, GOMP_SPINCOUNT={userSpin ?? "unset"} (yours)"
            : $"{OmpWaitPolicy}={NativeEnvironment.SetDefault(OmpWaitPolicy, "PASSIVE")} (the library's default)";

        string allocator = MallocTuning.Apply();

        var handles = new Dictionary<string, IntPtr>(StringComparer.Ordinal);
        foreach (var lib in new[] { "c10", "torch_cpu", "torch" })
            handles[lib] = LoadOrExplain(Path.Combine(libtorchDir, $"lib{lib}.so"));
        handles["LibTorchSharp"] = LoadOrExplain(libTorchSharp);

        try
        {
            NativeLibrary.SetDllImportResolver(torchAssembly, (name, _, _) =>
                handles.TryGetValue(name, out var h) ? h : IntPtr.Zero);
        }
        catch (InvalidOperationException)
        {
            // Someone set a resolver already; the preloaded sonames still win for by-name loads.
        }
        return new TorchNativeInfo(torchSharpVersion, libtorchVersion, libtorchDir, libTorchSharp, original, patched, waitPolicy, allocator);
    }

    /// <summary>Where to cache patched natives: $XDG_CACHE_HOME or ~/.cache, under input-gradients/native.</summary>
    public static string CacheDirectory()
    {
        string? root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root) || !Path.IsPathRooted(root))
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            root = string.IsNullOrEmpty(home) ? Path.GetTempPath() : Path.Combine(home, ".cache");
        }
        return Path.Combine(root, "input-gradients", "native");
    }

    /// <summary>
    /// Writes (once) <c>CacheDirectory()/&lt;version&gt;-&lt;sha256 prefix of the original&gt;/libLibTorchSharp.so</c>, the original
    /// with GLIBCXX_3.4.32 marked weak. Atomic: a temp file in the same directory renamed over the target, so
    /// concurrent processes never see a half-written library. Returns the path.
    /// </summary>
    public static string WritePatchedCopy(byte[] original, string source, string torchSharpVersion)
    {
        var patchedBytes = (byte[])original.Clone();
        if (!ElfVersionNeeds.MarkWeak(patchedBytes, LibStdCxx, NewLibStdCxxVersion, [NewLibStdCxxMarker], source))
            throw new InvalidOperationException($"{source} has no non-weak {NewLibStdCxxVersion} requirement to relax.");
        string hash = Convert.ToHexStringLower(SHA256.HashData(original))[..16];
        string dir = Path.Combine(CacheDirectory(), $"{torchSharpVersion}-{hash}");
        string target = Path.Combine(dir, "libLibTorchSharp.so");
        try
        {
            if (File.Exists(target) && File.ReadAllBytes(target).AsSpan().SequenceEqual(patchedBytes)) return target;
            Directory.CreateDirectory(dir);
            string temp = Path.Combine(dir, $".libLibTorchSharp.so.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            try
            {
                File.WriteAllBytes(temp, patchedBytes);
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                           UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                File.Move(temp, target, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            return target;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"Cannot write the patched TorchSharp native library to {dir}: {e.Message} " +
                "Make that directory writable, or set XDG_CACHE_HOME to a writable directory, and run again.", e);
        }
    }

    static IntPtr LoadOrExplain(string path)
    {
        try { return NativeLibrary.Load(path); }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                $"Cannot load TorchSharp's native library {path}: {e.Message} " +
                "If a file is missing or damaged, delete that package folder and run `dotnet restore` again; " +
                $"if the loader names a missing GLIBC/GLIBCXX version other than {NewLibStdCxxVersion}, this system's C/C++ runtime " +
                "is older than TorchSharp supports (Debian 12 or newer is needed).", e);
        }
    }

    /// <summary>Whether the process's libstdc++ defines <paramref name="symbol"/>; the marker symbol of GLIBCXX_3.4.32 appeared in GCC 13.</summary>
    static bool LibStdCxxProvides(string symbol)
    {
        if (!NativeLibrary.TryLoad(LibStdCxx, out var handle)) return false;
        return NativeLibrary.TryGetExport(handle, symbol, out _);
    }

    static string? FindNativeDirectory(string file, IEnumerable<string> probed, IEnumerable<string> packages, string fallback)
        => probed.Concat(packages).Append(fallback).FirstOrDefault(d => File.Exists(Path.Combine(d, file)));

    /// <summary>Directories the runtime searches for by-name native loads of TorchSharp: the app's deps.json native paths and the assembly's folder.</summary>
    static IEnumerable<string> RuntimeProbedDirectories(Assembly torchAssembly)
    {
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string dirs)
            foreach (var d in dirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                yield return d;
        if (Path.GetDirectoryName(torchAssembly.Location) is { Length: > 0 } asmDir) yield return asmDir;
    }

    /// <summary>NuGet package folders: NUGET_PACKAGES, the one holding TorchSharp.dll, the app's probing paths, ~/.nuget/packages.</summary>
    public static IEnumerable<string> PackageRoots(Assembly torchAssembly)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        IEnumerable<string?> Candidates()
        {
            yield return Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            // <root>/torchsharp/<version>/lib/<tfm>/TorchSharp.dll (notebooks' `#r "nuget: ..."`, or a package-folder build)
            var asmDir = Path.GetDirectoryName(torchAssembly.Location);
            if (!string.IsNullOrEmpty(asmDir))
            {
                var libDir = Directory.GetParent(asmDir)?.Parent;
                if (libDir?.Parent is { Name: "torchsharp" } pkg && pkg.Parent is not null) yield return pkg.Parent.FullName;
            }
            if (AppContext.GetData("PROBING_DIRECTORIES") is string probing)
                foreach (var d in probing.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)) yield return d;
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (!string.IsNullOrEmpty(home)) yield return Path.Combine(home, ".nuget", "packages");
        }
        foreach (var c in Candidates())
            if (!string.IsNullOrWhiteSpace(c) && Directory.Exists(c) && seen.Add(Path.GetFullPath(c)))
                yield return Path.GetFullPath(c);
    }

    static string TorchSharpVersion(Assembly torchAssembly)
    {
        var info = torchAssembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var v = (info ?? torchAssembly.GetName().Version?.ToString(3) ?? "").Split('+')[0];
        return NormalizeVersion(v);
    }

    /// <summary>TorchSharp's libtorch version (its private const, read without running torch's static constructor).</summary>
    static string LibtorchVersion(Assembly torchAssembly)
    {
        var field = torchAssembly.GetType("TorchSharp.torch")?.GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static);
        if (field?.IsLiteral == true && field.GetRawConstantValue() is string v) return NormalizeVersion(v);
        throw new InvalidOperationException(
            $"Cannot tell which libtorch TorchSharp {torchAssembly.GetName().Version} needs (its libtorchPackageVersion constant is gone). " +
            "Update InputGradients.Runtime.TorchRuntime for this TorchSharp version.");
    }

    /// <summary>NuGet's folder name of a version: at least 3 parts, a 4th only if non-zero ("2.10.0.0" is "2.10.0").</summary>
    public static string NormalizeVersion(string v)
    {
        var parts = v.Split('-', 2);
        var nums = parts[0].Split('.').ToList();
        while (nums.Count < 3) nums.Add("0");
        if (nums.Count == 4 && nums[3] == "0") nums.RemoveAt(3);
        return string.Join('.', nums) + (parts.Length > 1 ? "-" + parts[1] : "");
    }

    static InvalidOperationException NotFound(string file, string package, IEnumerable<string> roots)
        => new($"TorchSharp's native library {file} (package {package}) was not found in the NuGet package folders " +
               $"[{string.Join(", ", roots)}] nor beside TorchSharp.dll. Run `dotnet restore` for the project that references " +
               "InputGradients (or set NUGET_PACKAGES to the package folder it was restored into), then run again.");
}

/// <summary>What <see cref="TorchRuntime.EnsureLoaded"/> loaded.</summary>
/// <param name="LibtorchDirectory">Where libc10, libtorch_cpu and libtorch were loaded from.</param>
/// <param name="LibTorchSharpPath">The libLibTorchSharp.so actually loaded (our patched copy, or the original).</param>
/// <param name="OriginalLibTorchSharpPath">TorchSharp's own file.</param>
/// <param name="Patched">Whether the GLIBCXX_3.4.32 requirement had to be relaxed on this system.</param>
/// <param name="OpenMpWaiting">How idle OpenMP threads wait, and who chose it.</param>
/// <param name="Allocator">The malloc settings in force (<see cref="MallocTuning"/>).</param>
public sealed record TorchNativeInfo(string TorchSharpVersion, string LibtorchVersion, string LibtorchDirectory,
    string LibTorchSharpPath, string OriginalLibTorchSharpPath, bool Patched, string OpenMpWaiting, string Allocator);
