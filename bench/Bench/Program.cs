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

InputGradients.Runtime.LibraryRuntime.Ensure();
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

bool quick = args.Contains("--quick");
int rounds = IntArg("--rounds", quick ? 1 : 3);
int threads = IntArg("--threads", 2);
string root = FindRoot();
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

// Style transfer: the CLI's layers, weights normalised by each target's energy (see tools/InputGradients.Cli).
var styleOptions = StyleWeights(net, content, style, styleSteps);

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
var pyInfo = Ask("setup", new JsonObject { ["threads"] = threads, ["inputs"] = inputs });

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
                if (round == 0 && rep == 0) checks.Add($"{op}: PyTorch check {answer["check"]}");
            }
        }
        Console.WriteLine($"  round {round + 1}/{rounds} {name}: TorchSharp {sharp[w][^1]:F2} s, PyTorch {torchPy[w][^1]:F2} s");
    }
}
// ---- the convolution route: the same TorchSharp workloads with oneDNN on and off, alternating, in this process ----
// On a CPU where oneDNN miscomputes, "oneDNN on" is the fast path the runtime refused: its times show what the fix costs.
var route = InputGradients.Runtime.ConvolutionRoute.Ensure();
var routeTimes = workloads.Select(_ => (On: new List<double>(), Off: new List<double>())).ToArray();
try
{
    for (int round = 0; round < rounds; round++)
    for (int w = 0; w < workloads.Length; w++)
    {
        int repeat = workloads[w].Op is "saliency" or "gradcam" ? ShortRepeats : 1;
        for (int rep = 0; rep < repeat; rep++)
        foreach (bool on in (round + w + rep) % 2 == 0 ? new[] { true, false } : [false, true])
        {
            InputGradients.Runtime.ConvolutionRoute.Use(on, "bench");
            (on ? routeTimes[w].On : routeTimes[w].Off).Add(Time(workloads[w].Sharp).Seconds);
        }
        Console.WriteLine($"  route round {round + 1}/{rounds} {workloads[w].Name}: oneDNN on {routeTimes[w].On[^1]:F2} s, off {routeTimes[w].Off[^1]:F2} s");
    }
}
finally { InputGradients.Runtime.ConvolutionRoute.Use(route.OneDnn, route.Reason); }

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
report.AppendLine($"## The convolution route ({(route.OneDnn ? "oneDNN on" : "oneDNN off")} in the table above)");
report.AppendLine();
report.AppendLine("TorchSharp alone, the same workloads with oneDNN's convolutions on and off (libtorch's im2col + GEMM), alternating in one process. " +
                  "Where the runtime chose \"off\", the \"on\" column is the fast path that computes wrong results on this CPU.");
report.AppendLine();
report.AppendLine("| workload | runs | oneDNN on (s) | oneDNN off (s) | off / on |");
report.AppendLine("|---|---:|---:|---:|---:|");
for (int w = 0; w < workloads.Length; w++)
{
    double on = Median(routeTimes[w].On), off = Median(routeTimes[w].Off);
    report.AppendLine($"| {workloads[w].Name} | {routeTimes[w].On.Count} | {on:F2} | {off:F2} | **{off / on:F2}** |");
}
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
    var cmd = op == "setup" ? new JsonObject { ["op"] = op, ["threads"] = a["threads"]!.DeepClone(), ["inputs"] = a["inputs"]!.DeepClone() }
                            : new JsonObject { ["op"] = op, ["args"] = a };
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

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "Notebooks.sln"))) return d.FullName;
    return Directory.GetCurrentDirectory();
}

// The CLI's `style` defaults (tools/InputGradients.Cli/StyleCommand.cs): every term divided by its target's energy,
// then weighted content 1, style 1000 (each layer), total variation 1.
static StyleTransferOptions StyleWeights(ResNet18Backbone net, Tensor content, Tensor style, int steps)
{
    string contentLayer = "layer2";
    string[] styleLayers = ["stem.relu", "layer1", "layer2", "layer3"];
    using var scope = NewDisposeScope();
    using var _ = no_grad();
    var p = net.forward_features(content, contentLayer)[contentLayer];
    var taps = net.forward_features(style, styleLayers);
    double contentWeight = 1.0 / p.pow(2).sum().item<float>();
    var styleWeights = styleLayers.Select(l => 1000.0 / StyleLosses.gram_matrix(taps[l]).pow(2).sum().item<float>()).ToArray();
    double tvWeight = 1.0 / StyleLosses.tv_loss(content, 1.0).item<float>();
    return new StyleTransferOptions
    {
        ContentLayer = contentLayer, ContentWeight = contentWeight, StyleLayers = styleLayers, StyleWeights = styleWeights,
        TvWeight = tvWeight, Iterations = steps, FrameAt = [],
    };
}
