using System.CommandLine;
using InputGradients.Runtime;
using Spectre.Console;

namespace InputGradients.Cli;

/// <summary>
/// <c>inputgrad runtime [--recheck]</c>: what this machine computes with (versions, threads, the convolution route and
/// why, NNPACK), and with <c>--recheck</c> the convolution self-check run now, shape by shape, through libtorch's oneDNN
/// and through the system's oneDNN 2.x where it is installed.
/// </summary>
public static class RuntimeCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var recheck = new Option<bool>("--recheck") { Description = "Run the oneDNN self-check now and show each shape's error against float64." };
        var cmd = new Command("runtime", "Show the native runtime: versions, threads, which kernels compute convolutions on this CPU and why.") { recheck };
        cmd.SetAction(parse => Cli.Guard(console, () => Show(console, parse.GetValue(recheck))));
        return cmd;
    }

    static int Show(IAnsiConsole console, bool recheck)
    {
        console.WriteLine(LibraryRuntime.Describe());
        if (!recheck) return 0;
        var route = ConvolutionRoute.Ensure();
        IReadOnlyList<ConvolutionRoute.ProbeResult> results;
        try
        {
            ConvolutionRoute.Use(oneDnn: true, "self-check");
            results = ConvolutionRoute.Check(ConvolutionRoute.Probes);
        }
        finally { ConvolutionRoute.Use(route.OneDnn, route.Reason, route.SystemOneDnn); }
        var table = new Table().AddColumns("shape (through oneDNN)", "output", "input grad", "weight grad", "");
        foreach (var r in results)
            table.AddRow(Markup.Escape(r.Probe.ToString()), E(r.Output), E(r.InputGradient), E(r.WeightGradient), r.Wrong ? "[red]wrong[/]" : "ok");
        console.Write(table);
        console.WriteLine($"relative error against float64; wrong above {ConvolutionRoute.Tolerance:0e0}. {results.Count(r => r.Wrong)} of {results.Count} wrong.");
        if (!SystemOneDnn.Available)
        {
            console.WriteLine($"system oneDNN: {SystemOneDnn.Description}");
            return 0;
        }
        // The same plain-convolution shapes through the system's oneDNN (the route used where libtorch's is wrong).
        var system = ConvolutionRoute.CheckSystem(ConvolutionRoute.Probes.Where(p => !p.Transposed));
        var systemTable = new Table().AddColumns($"shape (through {Markup.Escape(SystemOneDnn.Description)})", "output", "input grad", "");
        foreach (var r in system)
            systemTable.AddRow(Markup.Escape(r.Probe.ToString()), E(r.Output), E(r.InputGradient), r.Wrong ? "[red]wrong[/]" : "ok");
        console.Write(systemTable);
        console.WriteLine($"system oneDNN: {system.Count(r => r.Wrong)} of {system.Count} wrong.");
        return 0;
    }

    static string E(double e) => double.IsPositiveInfinity(e) ? "NaN/inf" : e.ToString("0.0e0");
}
