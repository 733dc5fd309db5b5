using InputGradients.Cli;
using InputGradients.Runtime;

namespace InputGradients.Cli.Tests;

[CollectionDefinition(nameof(ProcessWideBackend), DisableParallelization = true)]
public sealed class ProcessWideBackend;

/// <summary><c>inputgrad runtime</c>: the route in use and why; <c>--recheck</c> switches oneDNN on for a moment, so these run alone.</summary>
[Collection(nameof(ProcessWideBackend))]
public sealed class RuntimeCommandTests
{
    static (int Exit, string Output) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void Runtime_names_the_convolution_route_and_why()
    {
        var (exit, output) = Run("runtime");
        Assert.Equal(0, exit);
        var route = ConvolutionRoute.Ensure();
        Assert.Contains(route.Summary, output);
        Assert.Contains(route.OneDnn ? "convolutions: oneDNN (" : "oneDNN off (", output);
    }

    [Fact]
    public void Recheck_shows_every_probe_and_restores_the_route()
    {
        var before = ConvolutionRoute.Ensure();
        var (exit, output) = Run("runtime", "--recheck");
        Assert.Equal(0, exit);
        foreach (var p in ConvolutionRoute.Probes) Assert.Contains(p.ToString(), output);
        Assert.Matches(@"(\d+) of 10 wrong\.", output);
        Assert.Equal(before.OneDnn, LibtorchContext.MkldnnEnabled);
        Assert.Equal(before.OneDnn, ConvolutionRoute.Current!.OneDnn);
        Assert.Equal(before.SystemOneDnn, SystemOneDnn.Enabled);
        if (SystemOneDnn.Available)
        {
            Assert.Contains($"through {SystemOneDnn.Description}", output);
            // Where the route chose the system's oneDNN, its check passed here and must pass again.
            Assert.Matches(before.SystemOneDnn ? @"system oneDNN: 0 of 6 wrong\." : @"system oneDNN: \d+ of 6 wrong\.", output);
        }
        else Assert.Contains($"system oneDNN: {SystemOneDnn.Description}", output);
    }
}
