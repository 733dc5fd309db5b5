// TorchSharp (this library) against PyTorch (bench/pytorch_workloads.py) on the same workloads, interleaved.
//   bench/run [--quick] [--rounds N] [--threads N] [--out bench/results/latest.md]
// The PyTorch side runs as a child process that answers one command at a time, so the two implementations
// alternate workload by workload on the same machine at the same moment; the order flips every round.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Imaging;
using InputGradients.Layer;
using InputGradients.Models.ImageNet;
using InputGradients.Synthesis;
using InputGradients.Synthesis.Style;
using TorchSharp;
using static TorchSharp.torch;

const string Usage = "usage: bench/run [--quick] [--rounds N] [--threads N] [--out FILE]\n"
    + "  full run: 3 rounds, written to bench/results/latest.md; --quick: 1 round of a few steps, to bench/results/quick.md";
if (args.Contains("--help") || args.Contains("-h")) { Console.WriteLine(Usage); return 0; }
// A mistyped option would otherwise start a 20-minute run that ignores it.
for (int a = 0; a < args.Length; a++)
{
    if (args[a] == "--quick") continue;
    bool valued = args[a] is "--rounds" or "--threads" or "--out";
    string? problem = !valued ? $"unknown argument '{args[a]}'"
        : a + 1 >= args.Length ? $"{args[a]} needs a value"
        : args[a] != "--out" && !(int.TryParse(args[a + 1], out int n) && n >= 1) ? $"{args[a]} needs a whole number of at least 1, got '{args[a + 1]}'"
        : null;
    if (problem is not null) { Console.Error.WriteLine($"error: {problem}\n{Usage}"); return 2; }
    a++;
}

InputGradients.Runtime.LibraryRuntime.Ensure();
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

bool quick = args.Contains("--quick");
int rounds = IntArg("--rounds", quick ? 1 : 3);
int threads = IntArg("--threads", 2);
string root = InputGradients.Shared.RepositoryRoot.TryFind(InputGradients.Shared.RepositoryRoot.Marker, AppContext.BaseDirectory) ?? Directory.GetCurrentDirectory();
string outPath = StringArg("--out", Path.Combine(root, "bench", "results", quick ? "quick.md" : "latest.md"));
string loadAtStart = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
string python = Environment.GetEnvironmentVariable("BENCH_PYTHON") ?? "/usr/bin/python3";

int foolSteps = quick ? 5 : 100, visSteps = quick ? 5 : 100, styleSteps = quick ? 5 : 200;
const int Images = 5, Size = 224, StyleSize = 192;
const string CamLayer = "layer3";
int ShortRepeats = quick ? 1 : 5;

if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not { } policy || !policy.Equals("PASSIVE", StringComparison.OrdinalIgnoreCase))
    Console.Error.WriteLine("warning: OMP_WAIT_POLICY is not PASSIVE; bench/run sets it (spin-waiting threads distort timings on a shared machine).");
torch.set_num_threads(threads);

// ---- inputs, written once for both sides ----
using var net = ResNet18Backbone.Load();
string[] photos = ["chelsea.png", "dog.jpg", "eagle.jpg", "giraffe.jpg", "coffee.png"];
using var batch = net.Preprocess(stack(photos.Select(p => Photo(Path.Combine(root, "data", "images", p), Size)).ToArray()));
using var one = batch.narrow(0, 0, 1).contiguous();
using var content = net.Preprocess(Photo(Path.Combine(root, "data", "images", "chelsea.png"), StyleSize).unsqueeze(0));
using var style = net.Preprocess(Photo(Path.Combine(root, "data", "styles", "starry_night.jpg"), StyleSize).unsqueeze(0));

// The objective channel: the most active layer4 channel of the first photo; fooling aims at its median pooled
// feature with short steps, so it takes all its steps on both sides (checked below).
long channel, foolTarget;
using (no_grad())
{
    var l4 = net.forward_features(one, "layer4")["layer4"];
    var means = l4.mean([2, 3]).squeeze(0);
    channel = means.argmax().item<long>();
    foolTarget = means.argsort()[means.shape[0] / 2].item<long>();   // a middling, live feature: a real gradient
}
const double FoolLr = 1.0;

// Class visualisation: the original's settings moved to the backbone's input space (0-255 BGR minus mean, about 58x larger).
double[] low = net.InputSpace.Low, high = net.InputSpace.High;
var visOptions = new ClassVisualizationOptions { Iterations = visSteps, ShowEvery = 0 }.for_input_scale(net.InputSpace.UnitScale) with { ClampLow = low, ClampHigh = high };

// Style transfer: the CLI's layers and weights, normalised by each target's energy (the library's EnergyWeights).
var styleOptions = EnergyWeights.Options(net, content, style) with { Iterations = styleSteps, FrameAt = [] };

var tmp = Directory.CreateTempSubdirectory("inputgrad-bench-");
var inputs = new JsonObject
{
    ["batch"] = Raw(batch, "batch"), ["one"] = Raw(one, "one"), ["content"] = Raw(content, "content"), ["style"] = Raw(style, "style"),
};

// ---- the PyTorch side ----
var psi = new ProcessStartInfo(python, [Path.Combine(root, "bench", "pytorch_workloads.py"), "--serve"])
{
    RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false,
};
psi.Environment["OMP_NUM_THREADS"] = threads.ToString();
using var py = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
// The same glibc malloc settings on both sides when ours are in force (InputGradients.Runtime.MallocTuning).
bool tunedMalloc = InputGradients.Runtime.MallocTuning.Tuned;
var pyInfo = Ask("setup", new JsonObject
{
    ["threads"] = threads, ["inputs"] = inputs,
    ["malloc"] = tunedMalloc ? new JsonObject
    {
        ["mmap_threshold"] = InputGradients.Runtime.MallocTuning.MmapThreshold, ["trim_threshold"] = InputGradients.Runtime.MallocTuning.TrimThreshold,
    } : null,
});

var workloads = new (string Name, string Op, JsonObject Args, Func<object> Sharp)[]
{
    ($"saliency, {Images} images {Size} px (layer4 channel)", "saliency", new() { ["channel"] = channel }, () =>
    {
        using var m = Saliency.compute_saliency_maps(batch, Target.Channel("layer4", channel), net);
        return m.sum().item<float>();
    }),
    ($"Grad-CAM ({CamLayer}), {Images} images {Size} px", "gradcam", new() { ["channel"] = channel, ["layer"] = CamLayer }, () =>
    {
        using var m = new GradCam(net, CamLayer).cam(batch, Target.Channel("layer4", channel));
        return m.sum().item<float>();
    }),
    ($"fooling image, {foolSteps} steps", "fooling", new() { ["target"] = foolTarget, ["lr"] = FoolLr, ["steps"] = foolSteps }, () =>
    {
        using var r = FoolingImage.make(one, foolTarget, net, FoolLr, foolSteps);
        return r.Iterations;
    }),
    ($"class visualisation, {visSteps} steps (jitter + blur)", "classvis", new()
    {
        ["channel"] = channel, ["steps"] = visSteps, ["lr"] = visOptions.LearningRate, ["l2"] = visOptions.L2Reg,
        ["init_scale"] = visOptions.InitScale, ["low"] = Json(low), ["high"] = Json(high),
    }, () =>
    {
        using var r = ClassVisualization.create(Target.Channel("layer4", channel), net, visOptions);
        return r.Image.abs().mean().item<float>();
    }),
    ($"style transfer, {styleSteps} Adam steps at {StyleSize} px", "style", new()
    {
        ["steps"] = styleSteps, ["low"] = Json(low), ["high"] = Json(high),
        ["content_layer"] = styleOptions.ContentLayer, ["content_weight"] = styleOptions.ContentWeight,
        ["style_layers"] = new JsonArray(styleOptions.StyleLayers.Select(l => (JsonNode)l!).ToArray()),
        ["style_weights"] = Json(styleOptions.StyleWeights.ToArray()), ["tv_weight"] = styleOptions.TvWeight,
    }, () =>
    {
        using var lo = tensor(low.Select(v => (float)v).ToArray()).view(1, 3, 1, 1);
        using var hi = tensor(high.Select(v => (float)v).ToArray()).view(1, 3, 1, 1);
        using var r = new StyleTransfer(net, lo, hi).run(content, style, styleOptions);
        return r.Image.abs().mean().item<float>();
    }),
};

Console.WriteLine(InputGradients.Runtime.LibraryRuntime.Describe());
Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version} vs PyTorch {pyInfo["torch"]}, {threads} threads each, " +
                  $"{rounds} round(s){(quick ? " (quick)" : "")}; channel {channel}, fooling target {foolTarget}");
// Warm-up (not timed): first calls allocate and pick kernels on both sides.
Time(() => { using var m = Saliency.compute_saliency_maps(batch, Target.Channel("layer4", channel), net); return 0; });
Ask("saliency", new JsonObject { ["channel"] = channel });

var sharp = workloads.Select(_ => new List<double>()).ToArray();
var pyLayouts = new Dictionary<string, string>();   // op -> the layout the PyTorch side chose for it
var torchPy = workloads.Select(_ => new List<double>()).ToArray();
var checks = new List<string>();
for (int round = 0; round < rounds; round++)
{
    for (int w = 0; w < workloads.Length; w++)
    {
        var (name, op, a, run) = workloads[w];
        // Sub-second workloads are repeated within a round (each repetition alternating sides) for a steadier median.
        int repeat = op is "saliency" or "gradcam" ? ShortRepeats : 1;
        for (int rep = 0; rep < repeat; rep++)
        for (int side = 0; side < 2; side++)
        {
            bool sharpFirst = (round + w + rep) % 2 == 0;
            if ((side == 0) == sharpFirst)
            {
                var (s, check) = Time(run);
                sharp[w].Add(s);
                if (round == 0 && rep == 0) checks.Add($"{op}: TorchSharp check {Fmt(check)}");
            }
            else
            {
                var answer = Ask(op, (JsonObject)a.DeepClone());
                torchPy[w].Add(answer["seconds"]!.GetValue<double>());
                pyLayouts[op] = answer["layout"]!.GetValue<string>();
                if (round == 0 && rep == 0) checks.Add($"{op}: PyTorch check {answer["check"]}");
            }
        }
        Console.WriteLine($"  round {round + 1}/{rounds} {name}: TorchSharp {sharp[w][^1]:F2} s, PyTorch {torchPy[w][^1]:F2} s");
    }
}
// ---- the convolution route: the same TorchSharp workloads with oneDNN on and off, alternating, in this process ----
// On a CPU where oneDNN miscomputes, "oneDNN on" is the fast path the runtime refused: its times show what the fix costs.
var route = InputGradients.Runtime.ConvolutionRoute.Ensure();
(List<double> A, List<double> B)[] routeTimes;   // A: libtorch's oneDNN, B: libtorch's im2col
(List<double> A, List<double> B)[]? systemTimes = null;   // A: the system's oneDNN 2.x, B: libtorch's im2col
(List<double> A, List<double> B)[]? winogradTimes = null; // A: with Winograd where SystemOneDnn asks for it, B: direct kernels only
var systemProbe = InputGradients.Runtime.ConvolutionRoute.Use(false, "bench", systemOneDnn: true);
bool systemUsable = systemProbe.SystemOneDnn;
try
{
    routeTimes = TimeBothWays(rounds, ShortRepeats, "oneDNN on", "off", on =>
    {
        InputGradients.Runtime.ConvolutionRoute.Use(on, "bench");
        return null;
    });
    if (systemUsable)
        systemTimes = TimeBothWays(rounds, ShortRepeats, "system oneDNN", "im2col", system =>
        {
            InputGradients.Runtime.ConvolutionRoute.Use(false, "bench", systemOneDnn: system);
            return null;
        });
    if (systemUsable)
    {
        // Only the batch-5 workloads have convolutions Winograd is asked for (SystemOneDnn.WinogradMinimumBatch).
        InputGradients.Runtime.ConvolutionRoute.Use(false, "bench", systemOneDnn: true);
        winogradTimes = TimeBothWays(rounds, ShortRepeats, "Winograd", "direct", winograd =>
        {
            InputGradients.Runtime.SystemOneDnn.Winograd = winograd;
            return null;
        }, op => op is "saliency" or "gradcam");
    }
}
finally
{
    InputGradients.Runtime.SystemOneDnn.Winograd = true;
    InputGradients.Runtime.ConvolutionRoute.Use(route.OneDnn, route.Reason, route.SystemOneDnn);
}

// ---- arithmetic: convolution FLOPs of each workload, counted once with hooks (not timed) ----
// Forward convolutions are counted by hooks on the backbone's convolution modules; the backward pass through a
// convolution (to its input only: the weights need no gradient) costs the same again. Every workload but Grad-CAM
// runs it back to the input; Grad-CAM's stops at its layer, so only the later convolutions count twice there. Other
// work (pooling, elementwise, Gram matrices) is left out, so the fractions below are a floor.
var convFlops = new double[workloads.Length];
var winogradCalls = new long[workloads.Length];   // convolutions (forward or backward) run on Winograd kernels, per call
{
    double counted = 0;
    string backwardFrom = "";   // convolutions whose name starts with this are counted twice
    var removers = new List<Action>();
    foreach (var (name, module) in net.named_modules())
    {
        if (module.GetType().Name != "PaddedConv" || module is not nn.Module<Tensor, Tensor> conv) continue;
        var weight = module.named_parameters().First(p => p.name.EndsWith("weight")).parameter;
        long perOutput = weight.shape[1] * weight.shape[2] * weight.shape[3];
        var hook = conv.register_forward_hook((m, x, y) =>
        {
            counted += 2.0 * y.numel() * perOutput * (name.StartsWith(backwardFrom, StringComparison.Ordinal) ? 2 : 1);
            return y;
        });
        removers.Add(hook.remove);
    }
    try
    {
        for (int w = 0; w < workloads.Length; w++)
        {
            counted = 0;
            backwardFrom = workloads[w].Op == "gradcam" ? "layer4" : "";   // Grad-CAM at layer3: backward through layer4 only
            using var scope = NewDisposeScope();
            long winogradBefore = InputGradients.Runtime.SystemOneDnn.WinogradConvolutions;
            workloads[w].Sharp();
            convFlops[w] = counted;
            winogradCalls[w] = InputGradients.Runtime.SystemOneDnn.WinogradConvolutions - winogradBefore;
        }
    }
    finally { foreach (var remove in removers) remove(); }
}
var peak = Peak.OfThisMachine(threads);

// ---- a busy machine: the same TorchSharp workloads with two CPU-bound processes beside them ----
// The library's own defaults (OpenMP wait policy, threads) only; the load is started and stopped here.
int busyRounds = Math.Max(1, Math.Min(rounds, 2));
var busyTimes = TimeBothWays(busyRounds, 1, "quiet", "busy", quiet => quiet ? null : BackgroundLoad.Start(2));   // A: quiet, B: busy

Ask("quit", new JsonObject(), expectAnswer: false);
py.WaitForExit(10_000);
tmp.Delete(recursive: true);

// ---- report ----
var report = new StringBuilder();
string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
report.AppendLine($"# TorchSharp vs PyTorch, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC{(quick ? " (quick mode: not a measurement)" : "")}");
report.AppendLine();
report.AppendLine($"- Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}; load average (1, 5, 15 min) at the start: {loadAtStart}; at the end: {load}");
report.AppendLine($"- TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {InputGradients.Runtime.TorchRuntime.Info?.LibtorchVersion ?? "?"}), " +
                  $"PyTorch {pyInfo["torch"]} ({pyInfo["blas"]}); {threads} threads each, OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "unset"}");
report.AppendLine($"- {rounds} round(s), the two sides alternating workload by workload (order flipped each time); saliency and Grad-CAM run {ShortRepeats} times a round. Times are medians of wall-clock seconds; a pair is one TorchSharp run and the PyTorch run next to it, so its ratio saw the same machine load.");
report.AppendLine($"- Runtime: {InputGradients.Runtime.LibraryRuntime.Describe()}");
report.AppendLine($"- PyTorch side at its best: batch norms folded into the convolutions as on our side ({pyInfo["folded_batch_norms"]} folded), Gram matrices by {pyInfo["gram"]} (the faster of bmm and a 1x1 convolution), timed on this machine at start-up; activations in the faster of NCHW and channels-last for each workload, timed on its first (untimed) call: {string.Join(", ", workloads.Select(w => $"{w.Op} {(pyLayouts.TryGetValue(w.Op, out var l) ? l : "?")}"))} (our backbone keeps them channels-last inside on the system oneDNN route); its malloc: {pyInfo["malloc"]}{(tunedMalloc ? ", as on our side" : "")}.");
report.AppendLine($"- Network: the ImageNet ResNet-18 backbone (ONNX graph), float32, CPU. Objective channel {channel} of layer4; fooling target: pooled feature {foolTarget}.");
report.AppendLine();
report.AppendLine("| workload | runs | TorchSharp (s) | PyTorch (s) | ratio of the medians | median ratio per pair | ratio per pair, min-max |");
report.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
for (int w = 0; w < workloads.Length; w++)
{
    double a = Median(sharp[w]), b = Median(torchPy[w]);
    var pairs = sharp[w].Zip(torchPy[w], (x, y) => x / y).ToArray();
    report.AppendLine($"| {workloads[w].Name} | {sharp[w].Count} | {a:F2} | {b:F2} | **{a / b:F2}** | {Median(pairs.ToList()):F2} | {pairs.Min():F2}-{pairs.Max():F2} |");
}
report.AppendLine();
string chosen = route.OneDnn ? "libtorch's oneDNN" : route.SystemOneDnn ? InputGradients.Runtime.SystemOneDnn.Description : "libtorch's im2col + GEMM";
report.AppendLine($"## The convolution route ({chosen} in the table above)");
report.AppendLine();
report.AppendLine("TorchSharp alone, the same workloads with libtorch's oneDNN convolutions on and off (libtorch's im2col + GEMM), alternating in one process. " +
                  "Where the runtime turned libtorch's oneDNN off, the \"on\" column is the fast path that computes wrong results on this CPU.");
report.AppendLine();
TimesTable("oneDNN on", "oneDNN off", "off / on", routeTimes);
report.AppendLine();
if (systemTimes is not null)
{
    report.AppendLine($"The system's {InputGradients.Runtime.SystemOneDnn.Description} for the backbone's convolutions against libtorch's im2col + GEMM, alternating " +
                      "(libtorch's oneDNN off in both). It passed the runtime's float64 self-check on this machine.");
    report.AppendLine();
    TimesTable("system oneDNN", "im2col", "im2col / system", systemTimes);
    if (winogradTimes is not null)
    {
        report.AppendLine();
        report.AppendLine($"On that route, the 3x3 stride-1 convolutions at batch {InputGradients.Runtime.SystemOneDnn.WinogradMinimumBatch} or more on maps of " +
                          $"{InputGradients.Runtime.SystemOneDnn.WinogradMinimumSide} or more a side on oneDNN's Winograd kernels (as in the table above) against its direct kernels only, alternating. " +
                          $"Convolutions run on Winograd kernels per call (forward and backward): {string.Join(", ", workloads.Select((x, i) => $"{x.Op} {winogradCalls[i]}"))}.");
        report.AppendLine();
        TimesTable("Winograd", "direct", "direct / Winograd", winogradTimes);
    }
}
else
    report.AppendLine($"The system's oneDNN was not timed: {systemProbe.SystemReason}.");
report.AppendLine();
report.AppendLine("## Fraction of the machine's float32 peak");
report.AppendLine();
report.AppendLine($"Assumed peak: {peak.Describe()}. Work counted: the convolutions only (forward by hooks, the same again for each " +
                  "convolution the backward pass goes through), so each fraction is a floor. Times are the medians of the first table.");
report.AppendLine();
report.AppendLine("| workload | convolution GFLOP | TorchSharp GFLOP/s | fraction of peak | PyTorch GFLOP/s | fraction of peak |");
report.AppendLine("|---|---:|---:|---:|---:|---:|");
for (int w = 0; w < workloads.Length; w++)
{
    double gflop = convFlops[w] / 1e9, a = gflop / Median(sharp[w]), b = gflop / Median(torchPy[w]);
    report.AppendLine($"| {workloads[w].Name} | {gflop:F1} | {a:F1} | **{a / peak.GigaFlops:P0}** | {b:F1} | {b / peak.GigaFlops:P0} |");
}
report.AppendLine();
report.AppendLine("## A busy machine");
report.AppendLine();
report.AppendLine($"TorchSharp alone with the library's defaults, each workload run quiet and then beside two CPU-bound processes " +
                  $"(started and stopped by the bench), alternating, {busyRounds} round(s). Goal: at most 2x.");
report.AppendLine();
TimesTable("quiet", "busy", "busy / quiet", busyTimes);
report.AppendLine();
report.AppendLine("Checks (the same work was done on both sides; fooling shows the steps taken):");
report.AppendLine();
foreach (var c in checks) report.AppendLine($"- {c}");
Console.WriteLine();
Console.WriteLine(report);
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
File.WriteAllText(outPath, report.ToString());
Console.WriteLine($"written to {outPath}");
return 0;

// ---- helpers ----

// Times every TorchSharp workload under two settings, A (enter(true)) and B (enter(false)), alternating which goes
// first; enter may return something to dispose after the run. Sub-second workloads repeat `repeats` times a round.
(List<double> A, List<double> B)[] TimeBothWays(int roundCount, int repeats, string nameA, string nameB, Func<bool, IDisposable?> enter, Func<string, bool>? only = null)
{
    var times = workloads.Select(_ => (A: new List<double>(), B: new List<double>())).ToArray();
    for (int round = 0; round < roundCount; round++)
    for (int w = 0; w < workloads.Length; w++)
    {
        if (only is not null && !only(workloads[w].Op)) continue;
        int repeat = workloads[w].Op is "saliency" or "gradcam" ? repeats : 1;
        for (int rep = 0; rep < repeat; rep++)
        foreach (bool a in (round + w + rep) % 2 == 0 ? new[] { true, false } : [false, true])
        {
            using var setting = enter(a);
            (a ? times[w].A : times[w].B).Add(Time(workloads[w].Sharp).Seconds);
        }
        Console.WriteLine($"  {nameA}/{nameB} round {round + 1}/{roundCount} {workloads[w].Name}: {nameA} {times[w].A[^1]:F2} s, {nameB} {times[w].B[^1]:F2} s");
    }
    return times;
}

// A report table of TimeBothWays' medians per workload and B / A.
void TimesTable(string headA, string headB, string ratio, (List<double> A, List<double> B)[] times)
{
    report.AppendLine($"| workload | runs | {headA} (s) | {headB} (s) | {ratio} |");
    report.AppendLine("|---|---:|---:|---:|---:|");
    for (int w = 0; w < workloads.Length; w++)
    {
        if (times[w].A.Count == 0) continue;   // not timed this way
        double a = Median(times[w].A), b = Median(times[w].B);
        report.AppendLine($"| {workloads[w].Name} | {times[w].A.Count} | {a:F2} | {b:F2} | **{b / a:F2}** |");
    }
}
Tensor Photo(string path, int size)
{
    using var image = ImageIO.Load(path, PixelScale.Byte);
    using var resized = Transforms.Resize(image, size);
    return Transforms.CenterCrop(resized, size);
}

JsonObject Raw(Tensor t, string name)
{
    var path = Path.Combine(tmp.FullName, name + ".f32");
    using var c = t.contiguous().cpu();
    File.WriteAllBytes(path, System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan()).ToArray());
    return new JsonObject { ["path"] = path, ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode)s!).ToArray()) };
}

JsonNode Ask(string op, JsonObject a, bool expectAnswer = true)
{
    JsonObject cmd;
    if (op == "setup") { cmd = (JsonObject)a.DeepClone(); cmd["op"] = op; }
    else cmd = new JsonObject { ["op"] = op, ["args"] = a };
    py.StandardInput.WriteLine(cmd.ToJsonString());
    py.StandardInput.Flush();
    if (!expectAnswer) return new JsonObject();
    var line = py.StandardOutput.ReadLine()
        ?? throw new InvalidOperationException($"the PyTorch side ({python} bench/pytorch_workloads.py) stopped while running '{op}'; see its error above.");
    return JsonNode.Parse(line)!;
}

static (double Seconds, object Check) Time(Func<object> run)
{
    GC.Collect();
    var sw = Stopwatch.StartNew();
    using var scope = NewDisposeScope();
    var check = run();
    return (sw.Elapsed.TotalSeconds, check);
}

static double Median(List<double> xs)
{
    var s = xs.OrderBy(x => x).ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

static string Fmt(object o) => o is float f ? f.ToString("R", CultureInfo.InvariantCulture) : o.ToString()!;
static JsonArray Json(double[] xs) => new(xs.Select(x => (JsonNode)x!).ToArray());

int IntArg(string name, int fallback) => int.Parse(StringArg(name, fallback.ToString()));
string StringArg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

/// <summary>
/// The float32 peak assumed for this machine: cores x clock x SIMD lanes x 2 (a fused multiply-add) x FMA units. The
/// clock is measured, not read: in a VM /proc/cpuinfo gives the nominal clock, and the cores run faster than that
/// (with it, the saliency workload came out at 97 % of "peak" and Grad-CAM at 114 %).
/// </summary>
sealed record Peak(int Cores, double GHz, double NominalGHz, int Lanes, int FmaUnits, string Isa)
{
    public double GigaFlops => Cores * GHz * Lanes * 2 * FmaUnits;

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{GigaFlops:F0} GFLOP/s = {Cores} cores x {GHz:F2} GHz (measured: a chain of dependent 64-bit multiplies, 3 cycles each; /proc/cpuinfo says {NominalGHz:F2}) x {Lanes} float32 lanes ({Isa}) x 2 (FMA) x {FmaUnits} FMA units (assumed)");

    public static Peak OfThisMachine(int threads)
    {
        var info = File.Exists("/proc/cpuinfo") ? File.ReadAllLines("/proc/cpuinfo") : [];
        string Field(string name) => info.FirstOrDefault(l => l.StartsWith(name))?.Split(':', 2)[1].Trim() ?? "";
        double mhz = double.TryParse(Field("cpu MHz"), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : 0;
        var flags = Field("flags").Split(' ').ToHashSet();
        var (lanes, isa) = flags.Contains("avx512f") ? (16, "AVX-512") : flags.Contains("avx2") ? (8, "AVX2") : (4, "SSE");
        return new Peak(Math.Min(threads, Environment.ProcessorCount), MeasuredGHz(), mhz / 1000, lanes, 2, isa);
    }

    /// <summary>
    /// The core clock: a 64-bit integer multiply has a latency of 3 cycles on every x86-64 core of the last decade
    /// (Intel since Nehalem, AMD since Zen), so a chain of them, each using the last result, takes 3 cycles a link.
    /// Best of 7 runs of 0.1-0.2 s (the fastest run is the one least disturbed).
    /// </summary>
    static double MeasuredGHz()
    {
        const long links = 96_000_000;   // 8 per loop iteration; the loop's own work runs beside the chain
        double best = double.MaxValue;
        ulong sink = 0;
        for (int run = 0; run < 7; run++)
        {
            var sw = Stopwatch.StartNew();
            sink += Chain(sink | 1, links / 8);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        GC.KeepAlive(sink);
        return 3.0 * links / best / 1e9;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static ulong Chain(ulong x, long iterations)
    {
        // Squares: unlike products by a constant (which the optimising JIT folds into one multiply per loop, giving
        // 28 GHz), no two of them can be merged. x is odd, so it stays odd and never collapses to 0.
        for (long i = 0; i < iterations; i++)
        {
            x *= x; x *= x; x *= x; x *= x;
            x *= x; x *= x; x *= x; x *= x;
        }
        return x;
    }
}

/// <summary>CPU-bound busy loops in child processes, stopped on disposal.</summary>
sealed class BackgroundLoad : IDisposable
{
    readonly List<Process> _processes = [];

    public static BackgroundLoad Start(int count)
    {
        var load = new BackgroundLoad();
        for (int i = 0; i < count; i++)
            load._processes.Add(Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "while :; do :; done"]) { UseShellExecute = false })!);
        return load;
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { p.Kill(); p.WaitForExit(); } catch (InvalidOperationException) { }
            p.Dispose();
        }
    }
}
