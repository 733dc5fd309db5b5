using System.Diagnostics;
using System.Text;
using System.Text.Json;
using InputGradients.Runtime;

namespace InputGradients.Tests.Runtime;

/// <summary>
/// Starts fresh processes with a clean environment (PATH, HOME and what the case needs, nothing else) and checks
/// that TorchSharp (autograd) and Plotly.NET work with no manual step: a console program using the library
/// (tests/CleanProcess), and a notebook run headless with dotnet repl.
/// The NuGet cache of a development machine may hold a hand-patched libLibTorchSharp.so (the original kept as
/// `.orig`); these tests then build an unpatched package folder (the original file plus symlinks to the rest) and
/// point the child at it with NUGET_PACKAGES, so they prove the fix on an install as restored.
/// </summary>
public class CleanProcessTests
{
    static readonly string Repo = TestPaths.Root;
    internal static readonly string DotnetHost = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet"
        ? p : "dotnet";
    const string Expected = "grad=-3,0,4,6.5"; // d/dx sum(x^2) = 2x at x = -1.5, 0, 2, 3.25

    [Fact]
    public void Console_program_does_autograd_and_renders_a_chart_in_a_clean_process()
    {
        using var tmp = new TempDir();
        var html = Path.Combine(tmp.Path, "chart.html");
        var (code, output) = Run(DotnetHost, [CleanProcessDll(), html], Repo, CleanEnvironment(tmp.Path), TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        Assert.Contains("runtime-prepared=True", output); // the library's module initializer ran by itself
        Assert.Contains(Expected, output);
        // The convolution route is decided and named, and libtorch's NNPACK warning reaches no one (it would print once per convolution).
        Assert.Contains("convolutions=ran", output);
        Assert.Matches(@"runtime=TorchSharp \S+, libtorch \S+, OMP_WAIT_POLICY=PASSIVE \(the library's default\), malloc: blocks up to 32 MB reused, not mapped afresh \(the library's default\), \d+ threads; convolutions: ", Line(output, "runtime="));
        // glibc's own threshold would map a 24 MB block afresh; the library's settings serve it from the heap.
        Assert.Equal("heap-24mb=True", Line(output, "heap-24mb="));
        Assert.Equal("omp-wait-policy=PASSIVE", Line(output, "omp-wait-policy=")); // what libgomp reads, set before it loaded
        Assert.DoesNotContain(output.Split('\n'), l => !l.StartsWith("runtime=") && l.Contains("NNPACK"));
        // A fresh cache: the child checked the routes itself. Where libtorch's oneDNN is wrong and the system's oneDNN
        // is present, the child must have chosen it (this process's verdict is the same machine's), and mapped it.
        var route = ConvolutionRoute.Ensure();
        bool system = !route.OneDnn && SystemOneDnn.Available;
        Assert.Equal($"system-onednn={system}", Line(output, "system-onednn="));
        if (system) Assert.Contains(output.Split('\n'), l => l.StartsWith("mapped=") && l.Contains("/libdnnl.so.2"));
        Assert.Equal($"patched={!SystemLibStdCxxHasGlibcxx3432()}", Line(output, "patched="));
        var used = Line(output, "libtorchsharp=")["libtorchsharp=".Length..];
        if (!SystemLibStdCxxHasGlibcxx3432()) // the patched copy lives in the child's own fresh cache dir
            Assert.StartsWith(Path.Combine(tmp.Path, "cache", "input-gradients", "native") + "/", used);
        var text = File.ReadAllText(html);
        Assert.Contains("clean-process-line", text);
        Assert.Contains("Plotly.newPlot", text);
    }

    /// <summary>
    /// Every OpenMP runtime in the process must read the library's wait policy: a spinning one makes a busy machine
    /// crawl. Where the system's oneDNN computes the convolutions, its <c>libdnnl.so.2</c> needs <c>libgomp.so.1</c>,
    /// which is the soname of libtorch's bundled copy too, so the loader hands it libtorch's runtime: one runtime, one
    /// thread pool. <c>OMP_DISPLAY_ENV=true</c> makes each runtime print the settings it read when it started.
    /// </summary>
    [Fact]
    public void Every_OpenMP_runtime_in_the_process_sleeps_when_idle()
    {
        using var tmp = new TempDir();
        var env = CleanEnvironment(tmp.Path);
        env["OMP_DISPLAY_ENV"] = "true";
        var (code, output) = Run(DotnetHost, [CleanProcessDll()], Repo, env, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        var policies = System.Text.RegularExpressions.Regex.Matches(output, @"OMP_WAIT_POLICY = '(\w+)'").Select(m => m.Groups[1].Value).ToList();
        var runtimes = output.Split('\n').Where(l => l.StartsWith("mapped=") && l.Contains("libgomp")).Distinct().ToList();
        Assert.True(runtimes.Count >= 1, $"no OpenMP runtime mapped\n{output}");
        Assert.True(policies.Count == runtimes.Count, $"{policies.Count} OpenMP runtime(s) reported their settings, {runtimes.Count} mapped\n{output}");
        Assert.All(policies, p => Assert.Equal("PASSIVE", p));
        if (!ConvolutionRoute.Ensure().OneDnn && SystemOneDnn.Available)
            Assert.Contains(output.Split('\n'), l => l.StartsWith("mapped=") && l.Contains("/libdnnl.so.2"));
    }

    /// <summary><c>INPUTGRADIENTS_ONEDNN</c> forces the route in a fresh process, and the runtime line says so.</summary>
    [Theory]
    [InlineData("off")]
    [InlineData("system")]
    [InlineData("on")]
    public void The_environment_variable_forces_the_route(string setting)
    {
        using var tmp = new TempDir();
        var env = CleanEnvironment(tmp.Path);
        env[ConvolutionRoute.EnvironmentVariable] = setting;
        var (code, output) = Run(DotnetHost, [CleanProcessDll()], Repo, env, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        Assert.Contains($"forced by {ConvolutionRoute.EnvironmentVariable}={setting}", Line(output, "runtime="));
        Assert.Equal($"system-onednn={setting == "system" && SystemOneDnn.Available}", Line(output, "system-onednn="));
    }

    [Fact]
    public void A_system_libtorch_on_LD_LIBRARY_PATH_does_not_hijack_loading()
    {
        // Debian's python3-torch puts libtorch 1.13 here; TorchSharp needs its own 2.10.
        const string debianLibDir = "/usr/lib/x86_64-linux-gnu";
        Assert.True(File.Exists(Path.Combine(debianLibDir, "libtorch_cpu.so")),
            "This test needs Debian's python3-torch installed (sudo apt-get install python3-torch): it checks that its libtorch cannot hijack TorchSharp.");
        using var tmp = new TempDir();
        var env = CleanEnvironment(tmp.Path);
        env["LD_LIBRARY_PATH"] = $"{debianLibDir}:/usr/lib/python3/dist-packages/torch/lib";
        var (code, output) = Run(DotnetHost, [CleanProcessDll()], Repo, env, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        Assert.Contains(Expected, output);
        var mapped = output.Split('\n').Where(l => l.StartsWith("mapped=")).Select(l => l["mapped=".Length..].Trim())
            .Where(m => Path.GetFileName(m).StartsWith("libtorch") || Path.GetFileName(m).StartsWith("libc10")).ToList();
        Assert.Contains(mapped, m => m.EndsWith("/libtorch_cpu.so"));
        Assert.All(mapped, m => Assert.Contains("libtorch-cpu-linux-x64/2.10.0/", m));
    }

    [Theory]
    [InlineData("off", "convolutions: libtorch's im2col + GEMM, oneDNN off (forced by INPUTGRADIENTS_ONEDNN=off)")]
    [InlineData("on", "convolutions: oneDNN (forced by INPUTGRADIENTS_ONEDNN=on)")]
    public void The_convolution_route_can_be_forced_from_the_environment(string setting, string expected)
    {
        using var tmp = new TempDir();
        var env = CleanEnvironment(tmp.Path);
        env["INPUTGRADIENTS_ONEDNN"] = setting;
        var (code, output) = Run(DotnetHost, [CleanProcessDll()], Repo, env, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        Assert.Contains(expected, Line(output, "runtime="));
    }

    /// <summary>
    /// The malloc settings (<see cref="MallocTuning"/>) give way to the user's: with <c>INPUTGRADIENTS_MALLOC=glibc</c> or
    /// glibc's own tunables, a 24 MB block is mapped afresh as glibc does by default (the probe can tell the two apart).
    /// </summary>
    [Theory]
    [InlineData(MallocTuning.OptOutVariable, "glibc", "malloc: glibc's defaults (INPUTGRADIENTS_MALLOC=glibc)")]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.arena_max=2", "malloc: yours (GLIBC_TUNABLES)")]
    public void A_users_own_malloc_settings_win(string variable, string value, string expected)
    {
        using var tmp = new TempDir();
        var env = CleanEnvironment(tmp.Path);
        env[variable] = value;
        var (code, output) = Run(DotnetHost, [CleanProcessDll()], Repo, env, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        Assert.Contains(expected, Line(output, "runtime="));
        Assert.Equal("heap-24mb=False", Line(output, "heap-24mb="));
    }

    [Fact]
    public void A_users_own_OpenMP_wait_policy_wins()
    {
        using var tmp = new TempDir();
        var env = CleanEnvironment(tmp.Path);
        env["OMP_WAIT_POLICY"] = "ACTIVE";
        var (code, output) = Run(DotnetHost, [CleanProcessDll()], Repo, env, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        Assert.Equal("omp-wait-policy=ACTIVE", Line(output, "omp-wait-policy="));
        Assert.Contains("OMP_WAIT_POLICY=ACTIVE, GOMP_SPINCOUNT=unset (yours)", Line(output, "runtime="));
    }

    [Fact]
    public void Without_a_package_folder_the_error_says_what_to_do()
    {
        using var tmp = new TempDir();
        var env = CleanEnvironment(tmp.Path);
        env["NUGET_PACKAGES"] = Path.Combine(tmp.Path, "no-such-folder");
        env["HOME"] = tmp.Path; // no ~/.nuget/packages either
        var (code, output) = Run(DotnetHost, [CleanProcessDll()], Repo, env, TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, code);
        Assert.Contains("InputGradients: TorchSharp cannot be used in this process", output);
        Assert.Contains("libtorch_cpu.so (package libtorch-cpu-linux-x64 2.10.0) was not found", output);
        Assert.Contains("Run `dotnet restore`", output);
    }

    [Fact]
    public void Notebook_runs_headless_with_torch_and_a_plotly_chart()
    {
        using var tmp = new TempDir();
        // The fixture starts with the standard setup cell; its path is relative to a notebook in notebooks/,
        // so point it at this worktree's build output.
        var source = File.ReadAllText(Path.Combine(Repo, "tests", "InputGradients.Tests", "Runtime", "Fixtures", "runtime-smoke.ipynb"));
        var interactiveDll = Path.Combine(Repo, "artifacts", "bin", "InputGradients.Interactive", "debug", "InputGradients.Interactive.dll");
        Assert.True(File.Exists(interactiveDll), $"{interactiveDll} is missing: run `dotnet build lib/InputGradients.Interactive` first.");
        var notebook = Path.Combine(tmp.Path, "runtime-smoke.ipynb");
        File.WriteAllText(notebook, source.Replace("../artifacts/", Path.Combine(Repo, "artifacts") + "/"));
        var outPath = Path.Combine(tmp.Path, "out.ipynb");

        var env = CleanEnvironment(tmp.Path);
        var (restoreCode, restoreOutput) = Run(DotnetHost, ["tool", "restore"], Repo, env, TimeSpan.FromMinutes(3));
        Assert.True(restoreCode == 0, $"dotnet tool restore failed ({restoreCode}):\n{restoreOutput}");
        var (code, output) = Run(DotnetHost, ["tool", "run", "dotnet-repl", "--", "--run", notebook, "--exit-after-run", "--output-path", outPath],
            Repo, env, TimeSpan.FromMinutes(4));
        Assert.True(File.Exists(outPath), $"no output notebook (exit code {code}, a native crash?):\n{output}");

        using var doc = JsonDocument.Parse(File.ReadAllText(outPath));
        var outputs = doc.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.TryGetProperty("outputs", out _)).SelectMany(c => c.GetProperty("outputs").EnumerateArray()).ToList();
        var errors = outputs.Where(o => o.GetProperty("output_type").GetString() == "error").Select(o => o.GetRawText()).ToList();
        Assert.True(errors.Count == 0, "cell errors:\n" + string.Join("\n", errors));
        Assert.True(code == 0, $"exit code {code}\n{output}");
        var all = string.Join("\n", outputs.Select(o => o.GetRawText()));
        Assert.Contains(Expected, all);
        Assert.Contains($"patched={!SystemLibStdCxxHasGlibcxx3432()}", all); // the kernel used our copy iff needed
        Assert.Contains(outputs, o => o.TryGetProperty("data", out var d) && d.TryGetProperty("text/html", out var h)
                                      && h.ToString().Contains("runtime-smoke-line") && h.ToString().Contains("Plotly.newPlot"));
    }

    // ---- helpers ----

    /// <summary>PATH, HOME, a fresh cache dir, and NUGET_PACKAGES pointing at an unpatched package folder.</summary>
    static Dictionary<string, string> CleanEnvironment(string tmp)
    {
        var dotnetDir = Path.GetDirectoryName(DotnetHost == "dotnet" ? "/usr/bin/dotnet" : DotnetHost)!;
        var env = new Dictionary<string, string>
        {
            ["PATH"] = $"{dotnetDir}:/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = Environment.GetEnvironmentVariable("HOME") ?? "/root",
            ["XDG_CACHE_HOME"] = Path.Combine(tmp, "cache"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) env["DOTNET_ROOT"] = root;
        env["NUGET_PACKAGES"] = UnpatchedPackageFolder.Value;
        return env;
    }

    static readonly Lazy<string> UnpatchedPackageFolder = new(() =>
    {
        var info = TorchRuntime.Info ?? throw new InvalidOperationException("TorchRuntime did not run in the test process");
        var current = info.OriginalLibTorchSharpPath;
        var orig = current + ".orig";
        var roots = TorchRuntime.PackageRoots(typeof(TorchSharp.torch).Assembly).ToList();
        var root = roots.First(r => current.StartsWith(Path.Combine(r, "torchsharp") + "/"));
        if (!File.Exists(orig)) return root; // the package folder is as restored
        // Build a package folder equal to the restored one: every package symlinked, except torchsharp's
        // libLibTorchSharp.so, which is the untouched original.
        var clean = Path.Combine(Path.GetTempPath(), $"ig-unpatched-packages-{Environment.ProcessId}");
        if (Directory.Exists(clean)) Directory.Delete(clean, recursive: true);
        Directory.CreateDirectory(clean);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(clean, recursive: true); } catch (IOException) { } };
        foreach (var package in Directory.GetDirectories(root))
            if (Path.GetFileName(package) != "torchsharp")
                Directory.CreateSymbolicLink(Path.Combine(clean, Path.GetFileName(package)), package);
        var version = info.TorchSharpVersion;
        foreach (var entry in Directory.GetFileSystemEntries(Path.Combine(root, "torchsharp", version)))
            if (Path.GetFileName(entry) != "runtimes")
                Link(entry, Path.Combine(clean, "torchsharp", version, Path.GetFileName(entry)));
        var native = Path.Combine(clean, "torchsharp", version, "runtimes", "linux-x64", "native");
        Directory.CreateDirectory(native);
        File.Copy(orig, Path.Combine(native, "libLibTorchSharp.so"));
        return clean;

        static void Link(string target, string link)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            if (Directory.Exists(target)) Directory.CreateSymbolicLink(link, target); else File.CreateSymbolicLink(link, target);
        }
    });

    /// <summary>Independent of the code under test: does the system libstdc++ define the version at all.</summary>
    static bool SystemLibStdCxxHasGlibcxx3432()
    {
        var bytes = File.ReadAllBytes("/usr/lib/x86_64-linux-gnu/libstdc++.so.6");
        return bytes.AsSpan().IndexOf("GLIBCXX_3.4.32\0"u8) >= 0;
    }

    internal static string CleanProcessDll()
    {
        var dll = Path.Combine(Repo, "artifacts", "bin", "CleanProcess", "debug", "CleanProcess.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: it is built with the test project (`dotnet build tests/InputGradients.Tests`).");
        return dll;
    }

    static string Line(string output, string prefix)
        => output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix)) ?? $"<no {prefix} line>";

    internal static (int Code, string Output) Run(string file, string[] args, string cwd, Dictionary<string, string> env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var output = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout}:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }


    sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("ig-clean-").FullName;
        public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
    }
}
