using InputGradients.Runtime;
using TorchSharp;

namespace InputGradients.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void EnsureLoaded_is_idempotent_and_thread_safe()
    {
        var first = TorchRuntime.Info;
        Assert.NotNull(first); // the test assembly's module initializer ran it
        Parallel.For(0, 32, _ => TorchRuntime.EnsureLoaded());
        Assert.Same(first, TorchRuntime.Info);
    }

    [Fact]
    public void The_mapped_libtorch_is_the_one_TorchRuntime_chose()
    {
        using var scope = torch.NewDisposeScope();
        _ = torch.ones(2) + 1; // make sure the backend is in use
        var info = TorchRuntime.Info!;
        var mapped = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 6 && (p[5].EndsWith("/libtorch_cpu.so") || p[5].EndsWith("/libLibTorchSharp.so")))
            .Select(p => p[5]).Distinct().Order().ToList();
        Assert.Equal(new[] { info.LibTorchSharpPath, Path.Combine(info.LibtorchDirectory, "libtorch_cpu.so") }.Order(), mapped);
        Assert.Equal("2.10.0", info.LibtorchVersion);
    }

    [Fact]
    public void Autograd_works_in_the_test_process()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { -2.0, 0.5, 3.0 }, requires_grad: true);
        (x * x * x).sum().backward();
        Assert.Equal(new[] { 12.0, 0.75, 27.0 }, x.grad!.data<double>().ToArray()); // d/dx x^3 = 3x^2, exact in binary
    }

    [Theory]
    [InlineData("2.10.0.0", "2.10.0")]
    [InlineData("0.107.0", "0.107.0")]
    [InlineData("1.2.3.4", "1.2.3.4")]
    [InlineData("1.0", "1.0.0")]
    [InlineData("1.2.0-beta.1", "1.2.0-beta.1")]
    public void Versions_are_normalised_like_NuGet_folder_names(string version, string folder)
        => Assert.Equal(folder, TorchRuntime.NormalizeVersion(version));
}
