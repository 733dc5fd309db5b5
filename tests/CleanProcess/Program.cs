// Started by CleanProcessTests with a clean environment. Prints key=value lines the test checks.
using InputGradients.Runtime;
using Plotly.NET;
using TorchSharp;

// `CleanProcess pth FILE [MAX_NESTING_DEPTH]`: loads a checkpoint on a 256 KB stack and prints what happened, so a
// test can see a reader crash the process (stack overflow) without crashing the test host (HostileCheckpointTests).
if (args is ["pth", var pthFile, ..])
{
    var limits = args.Length > 2 ? InputGradients.Core.LoadLimits.Default with { MaxNestingDepth = int.Parse(args[2]) } : InputGradients.Core.LoadLimits.Default;
    string outcome = "";
    var reader = new Thread(() =>
    {
        try { outcome = InputGradients.Serialization.TorchCheckpoint.Load(pthFile, limits) is null ? "loaded null" : "loaded"; }
        catch (InputGradients.Serialization.CheckpointFormatException e) { outcome = "refused: " + e.Message; }
    }, 256 * 1024);
    reader.Start();
    reader.Join();
    Console.WriteLine(outcome);
    return;
}

// First use of the library: its module initializer has prepared TorchSharp's natives by now (no manual call).
var info = TorchRuntime.Info;
Console.WriteLine($"runtime-prepared={info is not null}");
Console.WriteLine($"patched={info?.Patched}");
Console.WriteLine($"libtorchsharp={info?.LibTorchSharpPath}");

using (var scope = torch.NewDisposeScope())
{
    var x = torch.tensor(new double[] { -1.5, 0.0, 2.0, 3.25 }, requires_grad: true);
    var y = (x * x).sum();
    y.backward();
    Console.WriteLine($"x={string.Join(',', x.data<double>().ToArray())}");
    Console.WriteLine($"grad={string.Join(',', x.grad!.data<double>().ToArray())}");
}

// Convolutions of the kinds that reach NNPACK (inference, batch 16) and the others: on a CPU where NNPACK cannot
// start, libtorch would print a warning for each of them unless the runtime decided NNPACK's use once.
Console.WriteLine($"runtime={LibraryRuntime.Describe()}");
Console.WriteLine($"omp-wait-policy={NativeEnvironment.Get("OMP_WAIT_POLICY")}");
using (var scope = torch.NewDisposeScope())
using (torch.no_grad())
{
    foreach (var batch in new[] { 1, 16, 16, 32 })
        torch.nn.functional.conv2d(torch.randn(batch, 3, 32, 32), torch.randn(8, 3, 3, 3), padding: [1, 1]).sum().item<float>();
    Console.WriteLine("convolutions=ran");
}
Console.WriteLine($"system-onednn={ConvolutionRoute.Current?.SystemOneDnn}");
Console.WriteLine($"heap-24mb={AllocatorProbe.FromHeap(24 << 20)}");

// Which libtorch is mapped into this process (a system libtorch hijacking the load would show up here).
foreach (var line in File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
             .Where(p => p.Length >= 6 && (p[5].Contains("libtorch") || p[5].Contains("libdnnl") || p[5].Contains("libgomp"))).Select(p => p[5]).Distinct())
    Console.WriteLine($"mapped={line}");

if (args.Length > 0)
{
    // Plotly.NET is F#: its optional parameters are FSharpOption<T>, and null is None.
    var chart = Chart2D_Scatter.Chart.Line<double, double, string>(new[] { 0.0, 1.0, 2.0 }, new[] { 0.0, 1.0, 4.0 }, null, "clean-process-line", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    File.WriteAllText(args[0], GenericChart.toChartHTML(chart));
    Console.WriteLine($"html={args[0]}");
}

/// <summary>Whether glibc serves a block from its heap or maps it afresh: mallinfo2's count of mapped blocks (hblks) before and after.</summary>
static class AllocatorProbe
{
    [System.Runtime.InteropServices.DllImport("libc")] static extern IntPtr malloc(nuint size);
    [System.Runtime.InteropServices.DllImport("libc")] static extern void free(IntPtr p);
    [System.Runtime.InteropServices.DllImport("libc")] static extern MallInfo2 mallinfo2();

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    struct MallInfo2 { public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost; }

    public static bool FromHeap(int bytes)
    {
        var before = mallinfo2().Hblks;
        var p = malloc((nuint)bytes);
        var after = mallinfo2().Hblks;
        free(p);
        return after == before;
    }
}
