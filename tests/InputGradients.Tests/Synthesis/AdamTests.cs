using System.Text.Json;
using InputGradients.Core;
using InputGradients.Synthesis;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

/// <summary><see cref="Adam"/> against PyTorch 1.13's <c>torch.optim.Adam</c> (tests/reference/adam_reference.py).</summary>
public class AdamTests
{
    static readonly JsonElement Ref = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("optim", "adam.json"))).RootElement;

    static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Every_step_matches_PyTorch(int runIndex)
    {
        var run = Ref.GetProperty("runs")[runIndex];
        long[] shape = Ref.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        using var scope = NewDisposeScope();
        var w = tensor(Doubles(Ref.GetProperty("w"))).view(shape);
        var c = tensor(Doubles(Ref.GetProperty("c"))).view(shape);
        var p = tensor(Doubles(Ref.GetProperty("start"))).view(shape).requires_grad_(true);
        bool maximize = run.GetProperty("maximize").GetBoolean();
        using var adam = new Adam([p], run.GetProperty("lr").GetDouble(), run.GetProperty("beta1").GetDouble(),
            run.GetProperty("beta2").GetDouble(), run.GetProperty("eps").GetDouble(), maximize);
        int decayAt = run.GetProperty("decay_at").GetInt32();
        var path = run.GetProperty("path").EnumerateArray().Select(Doubles).ToList();
        for (int t = 0; t < path.Count; t++)
        {
            using var step = NewDisposeScope();
            if (t == decayAt) adam.lr = run.GetProperty("decayed_lr").GetDouble();
            // f(p) = Σ w (p − c)² + Σ sin(3p); the maximising run climbs −f, as the reference does.
            var f = (w * (p - c) * (p - c)).sum().add_tensor(p.mul_scalar(3.0).sin().sum());
            var objective = maximize ? f.neg() : f;
            adam.step([.. autograd.grad([objective], [p])]);
            var got = p.detach().flatten().data<double>().ToArray();
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - path[t][i]) <= 1e-12 * (1 + Math.Abs(path[t][i])),
                    $"step {t + 1}, element {i}: {got[i]:R} against PyTorch's {path[t][i]:R}");
        }
        Assert.Equal(path.Count, adam.steps);
    }

    [Fact]
    public void Refuses_bad_settings_and_mismatched_gradients()
    {
        using var p = zeros(3);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], 0.1, beta1: 1));
        using var adam = new Adam([p], 0.1);
        using var g = ones(3);
        Assert.Throws<ArgumentException>(() => adam.step([g, g]));
    }
}
