using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Runtime;

/// <summary>
/// Chooses, once per process and before any convolution runs, which kernels compute float32 convolutions, so that
/// results are right on every CPU at the least cost.
/// <para>
/// Why: on some machines libtorch 2.10's oneDNN (3.7.1) computes wrong float32 convolutions without any error. Seen on
/// AMD EPYC (CPU family 26, AVX-512) in a VM that exposes no cache topology (no <c>/sys/devices/system/cpu/cpu0/cache</c>):
/// 95-105 of 200 random conv2d / conv_transpose2d shapes wrong against float64 (relative errors 0.1-0.6, some NaN, in the
/// output or the input gradient; weight gradients right), including shapes whose channel counts are multiples of 16
/// (14-19 of 200 with 32/48 channels), with 1 thread or 2. Debian's PyTorch 1.13 (older oneDNN) on the same machine:
/// 0 of 300 wrong. The likely cause is oneDNN reading a per-core cache size of 0 where the VM hides it (its blocking
/// depends on it); nothing in libtorch's exports lets us correct that value, so we route around oneDNN instead.
/// </para>
/// <para>
/// The routes measured there (ResNet-18 backbone, forward + backward to the input, batch 5 at 224 px, 2 threads; the
/// <c>bench/run</c> "route" table repeats this side by side):
/// <list type="bullet">
/// <item>oneDNN (libtorch's default): 0.38-0.39 s, wrong on this CPU.</item>
/// <item>oneDNN capped at SSE4.1 (<c>ONEDNN_MAX_CPU_ISA=SSE41</c>, must be in the native environment before libtorch
/// loads): 0 of 300 wrong, 0.90 s (as measured when the defect was reported). Every AVX level is still wrong.</item>
/// <item>oneDNN switched off for convolutions at run time (<see cref="LibtorchContext.MkldnnEnabled"/> = false,
/// PyTorch's <c>torch.backends.mkldnn.enabled = False</c>): libtorch's own im2col + GEMM kernels, 0 of 400 wrong,
/// 0.63-0.69 s. Chosen: the cheapest route that is always right, and it can be applied and undone at any moment.</item>
/// <item>Narrower, by shape (oneDNN only where it is right): rejected. Channel counts that are multiples of 16 still
/// failed (14-19 of 200 shapes with 32 or 48 channels); multiples of 64 passed 60 of 60, but a rule drawn from a sample
/// is trust in a kernel because it passed here. Checking each shape at run time fails too: the same shape came out
/// right in one process and wrong in the next (9 or 10 of the 10 probes), and the flag is process-wide, read again by
/// the backward pass, so it cannot follow one model's convolutions.</item>
/// </list>
/// </para>
/// <para>
/// How: a self-check runs <see cref="Probes"/> (shapes that were wrong there) through oneDNN and through float64, and
/// only where a result is off does the process switch oneDNN off; unaffected machines keep the fast path. The check
/// costs 0.1-0.7 s (oneDNN compiles a kernel per shape), so its verdict is cached per machine (CPU identity, cache
/// topology, core count) and libtorch version under <see cref="TorchRuntime.CacheDirectory"/>.
/// <c>INPUTGRADIENTS_ONEDNN</c> = <c>on</c>, <c>off</c> or <c>system</c> forces a route (tests and the bench use them),
/// <c>recheck</c> runs the check again and rewrites the cache; anything else, or nothing, means <c>auto</c>.
/// </para>
/// <para>
/// Where libtorch's oneDNN is off, the system's oneDNN 2.x (<see cref="SystemOneDnn"/>, Debian's <c>libdnnl2</c>, the
/// one Debian's PyTorch computes with) gets the same self-check on the probes that are plain convolutions, forward and
/// input gradient, and if it passes, the library's models (the ResNet-18 backbone) send their convolutions to it:
/// on the affected EPYC it ran the backbone's forward + backward to the input at batch 5 in 0.17-0.18 s against
/// 0.43-0.80 s on libtorch's im2col route (<c>scratch</c> timing, interleaved, 3 rounds), faster than libtorch's own
/// oneDNN where that is right (0.39 s). Elsewhere (no such library, another OS, or a failed check) libtorch's route stays.
/// NNPACK is decided here too: where it cannot initialise, libtorch would print a warning on every convolution, so it
/// is tried once with that warning captured, and switched off.
/// </para>
/// </summary>
public static class ConvolutionRoute
{
    public const string EnvironmentVariable = "INPUTGRADIENTS_ONEDNN";

    /// <summary>Relative error (max |float32 - float64| / max |float64|) above which a probe counts as wrong; float32 reaches ~1e-6.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>One convolution the self-check runs: conv2d or conv_transpose2d, square input and kernel.</summary>
    public sealed record Probe(bool Transposed, long Batch, long InChannels, long OutChannels, long Kernel, long Stride, long Padding, long Size)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{(Transposed ? "conv_transpose2d" : "conv2d")} N={Batch} C={InChannels}->{OutChannels} k={Kernel} s={Stride} p={Padding} {Size}x{Size}");
    }

    /// <summary>Shapes that oneDNN computed wrongly on the affected machine (each one, every time it was run there).</summary>
    public static readonly IReadOnlyList<Probe> Probes =
    [
        new(false, 6, 30, 20, 3, 1, 1, 13),
        new(false, 2, 35, 35, 3, 1, 1, 17),
        new(false, 7, 31, 29, 3, 1, 0, 10),
        new(false, 2, 3, 6, 5, 1, 0, 28),
        new(false, 1, 48, 48, 5, 2, 1, 11),
        new(false, 6, 48, 32, 3, 2, 0, 8),
        new(true, 4, 13, 3, 3, 1, 0, 10),
        new(true, 3, 8, 4, 5, 1, 2, 23),
        new(true, 2, 48, 48, 3, 2, 1, 11),
        new(true, 5, 33, 34, 5, 1, 0, 21),
    ];

    /// <summary>
    /// What the system oneDNN route (<see cref="Runtime.SystemOneDnn"/>) is checked with: the plain probes above, a
    /// 1x1 stride-2 convolution, the backbone's projection shortcuts, which oneDNN computes with other kernels than the
    /// rest and which take that route too, a stem (3 channels, 7x7, stride 2), whose input gradient the route
    /// computes as a forward convolution over the stride's phases, and two 3x3 stride-1 convolutions it sends to
    /// oneDNN's Winograd kernels (<see cref="Runtime.SystemOneDnn.Winograd"/>: batch 4, 16-channel multiples, 14x14 and 16x16 out).
    /// </summary>
    public static readonly IReadOnlyList<Probe> SystemProbes =
        [.. Probes.Where(p => !p.Transposed), new(false, 2, 64, 128, 1, 2, 0, 14), new(false, 2, 3, 64, 7, 2, 3, 30),
         new(false, 4, 32, 48, 3, 1, 1, 14), new(false, 4, 64, 16, 3, 1, 0, 18)];

    /// <summary>How one probe compared: worst relative error of the output, input gradient and weight gradient (NaN counts as infinite).</summary>
    public sealed record ProbeResult(Probe Probe, double Output, double InputGradient, double WeightGradient)
    {
        public double Worst => Math.Max(Output, Math.Max(InputGradient, WeightGradient));
        public bool Wrong => !(Worst <= Tolerance);
    }

    /// <summary>The route in force and why.</summary>
    /// <param name="OneDnn">Whether float32 convolutions may use oneDNN.</param>
    /// <param name="Reason">One sentence: forced, or what the self-check found.</param>
    /// <param name="SelfCheck">The probes' results through oneDNN (empty when the route was forced).</param>
    /// <param name="Nnpack">Whether NNPACK stays enabled.</param>
    /// <param name="NnpackNote">Why NNPACK is off, when it is (libtorch's own words), else empty.</param>
    /// <param name="SystemOneDnn">Whether the models' convolutions go to the system's oneDNN 2.x (<see cref="Runtime.SystemOneDnn"/>); only when <paramref name="OneDnn"/> is false.</param>
    /// <param name="SystemReason">Why or why not, in one sentence (empty when libtorch's oneDNN is on).</param>
    public sealed record Decision(bool OneDnn, string Reason, IReadOnlyList<ProbeResult> SelfCheck, bool Nnpack, string NnpackNote, TimeSpan Elapsed,
        bool SystemOneDnn = false, string SystemReason = "")
    {
        public int Wrong => SelfCheck.Count(r => r.Wrong);

        /// <summary>One line for a notebook's setup cell, the CLI and the bench.</summary>
        public string Summary => OneDnn
            ? $"convolutions: oneDNN ({Reason})"
            : SystemOneDnn
                ? $"convolutions: the models' through {Runtime.SystemOneDnn.Description} ({SystemReason}), others libtorch's im2col + GEMM; libtorch's oneDNN off ({Reason})"
                : $"convolutions: libtorch's im2col + GEMM, oneDNN off ({Reason}){(SystemReason.Length > 0 ? $"; system oneDNN not used: {SystemReason}" : "")}";
    }

    static readonly object Gate = new();
    static Decision? current;
    static (bool, string)? systemVerdict; // the system oneDNN's check, once per process

    /// <summary>The decision, or null before <see cref="Ensure"/> ran.</summary>
    public static Decision? Current => current;

    /// <summary>Decides the route once per process (see the class). Safe to call many times, from any thread.</summary>
    public static Decision Ensure()
    {
        if (current is { } done) return done;
        lock (Gate)
        {
            return current ??= Decide(Environment.GetEnvironmentVariable(EnvironmentVariable));
        }
    }

    /// <summary>
    /// Forces the route for the rest of the process (tests and the bench compare them). <paramref name="systemOneDnn"/>
    /// true sends the models' convolutions to the system's oneDNN when it passed its check here (see the class); it
    /// only applies with <paramref name="oneDnn"/> false. Process-wide: never call it while other threads compute.
    /// </summary>
    public static Decision Use(bool oneDnn, string reason, bool systemOneDnn = false)
    {
        lock (Gate)
        {
            var before = current ?? Decide(oneDnn ? "on" : "off");
            LibtorchContext.MkldnnEnabled = oneDnn;
            var (system, systemReason) = !oneDnn && systemOneDnn ? SystemVerdict() : (false, before.SystemReason);
            Runtime.SystemOneDnn.Enabled = system;
            return current = before with { OneDnn = oneDnn, Reason = reason, SystemOneDnn = system, SystemReason = systemReason };
        }
    }

    static Decision Decide(string? setting)
    {
        var clock = Stopwatch.StartNew();
        if (!LibtorchContext.Available)
        {
            // Without the switch nothing can be routed; say so rather than pretend (the property tests would still catch a wrong kernel).
            return new Decision(true, "this libtorch exports no oneDNN switch; not checked", [], true, "", clock.Elapsed);
        }
        bool nnpack = LibtorchContext.NnpackAvailable(out var nnpackMessage);
        if (!nnpack) LibtorchContext.NnpackEnabled = false;
        string nnpackNote = nnpack ? "" : Printable(nnpackMessage.Length > 0 ? nnpackMessage : "NNPACK could not initialise");

        string mode = (setting ?? "").Trim().ToLowerInvariant();
        Runtime.SystemOneDnn.Enabled = false;
        if (mode is "on" or "off" or "system")
        {
            LibtorchContext.MkldnnEnabled = mode == "on";
            var (system, systemReason) = mode == "system" ? SystemVerdict() : (false, "");
            Runtime.SystemOneDnn.Enabled = system;
            return new Decision(mode == "on", $"forced by {EnvironmentVariable}={mode}", [], nnpack, nnpackNote, clock.Elapsed, system, systemReason);
        }

        string cacheFile = VerdictFile();
        if (mode != "recheck" && ReadVerdict(cacheFile) is { } cached)
        {
            LibtorchContext.MkldnnEnabled = cached.OneDnn;
            Runtime.SystemOneDnn.Enabled = cached.System && Runtime.SystemOneDnn.Available;
            return new Decision(cached.OneDnn, cached.Reason + "; verdict cached for this machine", [], nnpack, nnpackNote, clock.Elapsed,
                Runtime.SystemOneDnn.Enabled, cached.SystemReason);
        }

        LibtorchContext.MkldnnEnabled = true;
        var results = Check(Probes);
        int wrong = results.Count(r => r.Wrong);
        bool oneDnn = wrong == 0;
        LibtorchContext.MkldnnEnabled = oneDnn;
        string reason = oneDnn
            ? $"self-check passed: {results.Count} shapes within {Tolerance:0e0} of float64"
            : $"oneDNN miscomputes on this CPU: {wrong} of {results.Count} self-check shapes wrong against float64, worst error {Format(results.Max(r => r.Worst))}";
        var (systemOk, whySystem) = oneDnn ? (false, "") : SystemVerdict();
        Runtime.SystemOneDnn.Enabled = systemOk;
        WriteVerdict(cacheFile, oneDnn, reason, systemOk, whySystem);
        return new Decision(oneDnn, reason, results, nnpack, nnpackNote, clock.Elapsed, systemOk, whySystem);
    }

    /// <summary>
    /// Whether the system's oneDNN is present and right here: the plain-convolution probes through
    /// <see cref="Runtime.SystemOneDnn.conv2d"/>, output and input gradient against float64 (<see cref="CheckSystem"/>).
    /// Checked once per process.
    /// </summary>
    static (bool Passed, string Reason) SystemVerdict() => systemVerdict ??= CheckSystemOnce();

    static (bool Passed, string Reason) CheckSystemOnce()
    {
        if (!Runtime.SystemOneDnn.Available) return (false, Runtime.SystemOneDnn.Description);
        var results = CheckSystem(SystemProbes);
        int wrong = results.Count(r => r.Wrong);
        return wrong == 0
            ? (true, $"self-check passed: {results.Count} shapes within {Tolerance:0e0} of float64")
            : (false, $"{Runtime.SystemOneDnn.Description} miscomputes here too: {wrong} of {results.Count} self-check shapes wrong, worst error {Format(results.Max(r => r.Worst))}");
    }

    /// <summary>
    /// Runs plain-convolution probes through the system's oneDNN (<see cref="Runtime.SystemOneDnn"/>, switched on for
    /// the check and restored after), with NCHW and with channels-last input (a probe's errors are the worse of the
    /// two), and in float64 by libtorch, from the same seeded values; weight gradients are not computed there, so
    /// <see cref="ProbeResult.WeightGradient"/> is 0.
    /// </summary>
    public static IReadOnlyList<ProbeResult> CheckSystem(IEnumerable<Probe> probes, long seed = 0)
    {
        var results = new List<ProbeResult>();
        bool before = Runtime.SystemOneDnn.Enabled;
        using var generator = new Generator((ulong)seed);
        using var _ = enable_grad();
        try
        {
            Runtime.SystemOneDnn.Enabled = true;
            foreach (var p in probes)
            {
                if (p.Transposed) throw new ArgumentException($"CheckSystem runs plain convolutions only, got {p}.", nameof(probes));
                using var scope = NewDisposeScope();
                var x = randn([p.Batch, p.InChannels, p.Size, p.Size], dtype: ScalarType.Float64, generator: generator);
                var w = randn([p.OutChannels, p.InChannels, p.Kernel, p.Kernel], dtype: ScalarType.Float64, generator: generator);
                var x64 = x.detach().requires_grad_();
                var y64 = nn.functional.conv2d(x64, w, strides: [p.Stride, p.Stride], padding: [p.Padding, p.Padding]);
                generator.manual_seed(seed + 1);
                var upstream = randn(y64.shape, dtype: ScalarType.Float64, generator: generator);
                var dx64 = autograd.grad([y64], [x64], [upstream])[0];
                // Both layouts the models use: NCHW (reordered to oneDNN's blocked layout) and channels-last (its NHWC
                // kernels, which ResNet18Backbone uses inside a pass); they are different kernels.
                double output = 0, inputGradient = 0;
                var (plain, w32, upstream32) = (x.to_type(ScalarType.Float32), w.to_type(ScalarType.Float32), upstream.to_type(ScalarType.Float32));
                foreach (bool channelsLast in new[] { false, true })
                {
                    var x32 = (channelsLast ? Runtime.SystemOneDnn.ChannelsLast(plain) : plain.alias()).requires_grad_();
                    var y32 = Runtime.SystemOneDnn.conv2d(x32, w32, null, (p.Padding, p.Padding, p.Padding, p.Padding), p.Stride);
                    var dx32 = autograd.grad([y32], [x32], [upstream32])[0];
                    output = Math.Max(output, RelativeError(y32.detach(), y64.detach()));
                    inputGradient = Math.Max(inputGradient, RelativeError(dx32, dx64));
                }
                results.Add(new ProbeResult(p, output, inputGradient, 0));
            }
        }
        finally { Runtime.SystemOneDnn.Enabled = before; }
        return results;
    }

    /// <summary>
    /// The cache file of this machine's verdict: named by a hash of everything the defect may depend on (what the CPU
    /// says it is, whether the cache topology is visible, the core count, libtorch and TorchSharp versions, the probes).
    /// </summary>
    public static string VerdictFile()
    {
        var key = new System.Text.StringBuilder();
        key.AppendLine(RuntimeInformationText());
        key.AppendLine(Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
        key.AppendLine(Directory.Exists("/sys/devices/system/cpu/cpu0/cache") ? "cache topology visible" : "cache topology hidden");
        key.AppendLine(TorchRuntime.Info is { } i ? $"{i.TorchSharpVersion} {i.LibtorchVersion}" : typeof(torch).Assembly.FullName);
        key.AppendLine(Runtime.SystemOneDnn.Description);
        key.AppendLine("system check: NCHW and channels-last");   // verdicts cached before it checked both are rechecked
        foreach (var p in Probes) key.AppendLine(p.ToString());
        foreach (var p in SystemProbes) key.AppendLine("system " + p);
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.ToString())))[..16];
        return Path.Combine(TorchRuntime.CacheDirectory(), $"convolution-route-{hash}.txt");
    }

    /// <summary>The first processor's identity lines of /proc/cpuinfo (vendor, family, model, stepping, name, flags); elsewhere the OS and architecture.</summary>
    static string RuntimeInformationText()
    {
        string[] keys = ["vendor_id", "cpu family", "model", "model name", "stepping", "microcode", "flags"];
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                return string.Join('\n', File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0)
                    .Where(l => keys.Contains(l.Split(':')[0].Trim())));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription} {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}";
    }

    static (bool OneDnn, string Reason, bool System, string SystemReason)? ReadVerdict(string file)
    {
        try
        {
            if (!File.Exists(file)) return null;
            var lines = File.ReadAllLines(file);
            // Damaged or from an older version: check again.
            if (lines.Length < 4 || lines[0] is not ("oneDNN on" or "oneDNN off") || lines[2] is not ("system oneDNN on" or "system oneDNN off")) return null;
            return (lines[0] == "oneDNN on", Printable(lines[1]), lines[2] == "system oneDNN on", Printable(lines[3]));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Best effort, atomic (temp file renamed): a cache that cannot be written only means checking again next time.</summary>
    static void WriteVerdict(string file, bool oneDnn, string reason, bool system, string systemReason)
    {
        string temp = $"{file}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllLines(temp, [oneDnn ? "oneDNN on" : "oneDNN off", reason, system ? "system oneDNN on" : "system oneDNN off", systemReason]);
            File.Move(temp, file, overwrite: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// Runs each probe in float32 with the kernels currently enabled and in float64 (which oneDNN never computes), from
    /// the same seeded values, and returns the worst relative errors. Leaves the global random state untouched.
    /// </summary>
    public static IReadOnlyList<ProbeResult> Check(IEnumerable<Probe> probes, long seed = 0)
    {
        var results = new List<ProbeResult>();
        using var generator = new Generator((ulong)seed);
        using var _ = enable_grad();
        foreach (var p in probes)
        {
            using var scope = NewDisposeScope();
            var x = randn([p.Batch, p.InChannels, p.Size, p.Size], dtype: ScalarType.Float64, generator: generator);
            var w = randn(p.Transposed ? [p.InChannels, p.OutChannels, p.Kernel, p.Kernel] : [p.OutChannels, p.InChannels, p.Kernel, p.Kernel],
                dtype: ScalarType.Float64, generator: generator);
            var (y32, dx32, dw32) = Run(p, x.to_type(ScalarType.Float32), w.to_type(ScalarType.Float32), generator, seed);
            var (y64, dx64, dw64) = Run(p, x, w, generator, seed);
            results.Add(new ProbeResult(p, RelativeError(y32, y64), RelativeError(dx32, dx64), RelativeError(dw32, dw64)));
        }
        return results;
    }

    static (Tensor y, Tensor dx, Tensor dw) Run(Probe p, Tensor x, Tensor w, Generator generator, long seed)
    {
        x = x.detach().requires_grad_();
        w = w.detach().requires_grad_();
        var y = p.Transposed
            ? nn.functional.conv_transpose2d(x, w, strides: [p.Stride, p.Stride], padding: [p.Padding, p.Padding])
            : nn.functional.conv2d(x, w, strides: [p.Stride, p.Stride], padding: [p.Padding, p.Padding]);
        // The same upstream gradient for both precisions: drawn in float64 from a generator reset to a fixed state.
        generator.manual_seed(seed + 1);
        var upstream = randn(y.shape, dtype: ScalarType.Float64, generator: generator).to_type(y.dtype);
        var grads = autograd.grad([y], [x, w], [upstream]);
        return (y.detach(), grads[0], grads[1]);
    }

    /// <summary>max |a - reference| / max |reference|, in float64; NaN or infinity anywhere gives +infinity.</summary>
    public static double RelativeError(Tensor actual, Tensor reference)
    {
        var a = actual.to_type(ScalarType.Float64);
        double diff = (a - reference).abs().max().item<double>();
        double scale = reference.abs().max().item<double>();
        double e = diff / Math.Max(scale, double.Epsilon);
        return double.IsFinite(e) ? e : double.PositiveInfinity;
    }

    static string Format(double e) => double.IsPositiveInfinity(e) ? "NaN/inf" : e.ToString("0.##e0", CultureInfo.InvariantCulture);

    /// <summary>libtorch's message on one line, without its timestamp prefix, its preamble and control characters.</summary>
    static string Printable(string message)
    {
        var line = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        int bracket = line.StartsWith('[') ? line.IndexOf("] ", StringComparison.Ordinal) : -1;
        if (bracket > 0) line = line[(bracket + 2)..];
        int reason = line.IndexOf("Reason: ", StringComparison.Ordinal); // "Could not initialize NNPACK! Reason: Unsupported hardware."
        if (reason >= 0) line = line[(reason + "Reason: ".Length)..].TrimEnd('.');
        return new string(line.Where(c => !char.IsControl(c)).ToArray());
    }
}
