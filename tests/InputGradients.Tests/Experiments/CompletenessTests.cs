using InputGradients.Attribution;
using InputGradients.Core;
using InputGradients.Experiments;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Experiments;

public class CompletenessTests
{
    [Fact]
    public void Relative_errors_by_hand()
    {
        var e = Completeness.RelativeErrors(tensor(new[] { 0.5f, -1f }), tensor(new[] { 10f, -4f }));
        Assert.Equal(new[] { 0.05, 0.25 }, e.Select(x => Math.Round(x, 9)));
    }

    [Fact]
    public void The_first_step_count_within_tolerance_is_chosen()
    {
        // A stand-in run whose delta is 1/steps against a score difference of 1: 10 steps 10%, 25 steps 4%.
        var tried = new List<int>();
        IntegratedGradientsResult Run(int steps)
        {
            tried.Add(steps);
            return new IntegratedGradientsResult(zeros(1, 2), tensor(new[] { 1f / steps }));
        }
        using var r = Completeness.SmallestConverged(new[] { 10, 25, 50 }, 0.05, ones(1), Run);
        Assert.Equal(25, r.Steps);
        Assert.True(r.Converged);
        Assert.Equal(new[] { 10, 25 }, tried);
        using var none = Completeness.SmallestConverged(new[] { 2, 4 }, 0.05, ones(1), Run);
        Assert.False(none.Converged);
        Assert.Equal(4, none.Steps);
        Assert.Equal(0.25, none.RelativeErrors[0], 6);
    }

    [Fact]
    public void Per_image_targets_give_the_rows_of_separate_runs()
    {
        // F(x) = x · w_t for target t: IG is exact, (x - 0) * w_t, and completeness holds.
        var w = tensor(new float[,] { { 1, 2 }, { -3, 4 } });
        var model = nn.Linear(2, 2, hasBias: false);
        using (no_grad()) model.weight!.copy_(w);
        var x = tensor(new float[,] { { 1, 1 }, { 2, -1 } });
        var ig = new IntegratedGradients(model, new IntegratedGradientsOptions(Steps: 4));
        using var r = Completeness.PerImage(ig, x, i => Target.Class(1 - i));
        // Row 0, target 1: (1*-3, 1*4); row 1, target 0: (2*1, -1*2).
        Assert.Equal(new[] { -3f, 4f, 2f, -2f }, r.Attributions.reshape(4).data<float>().Select(v => MathF.Round(v, 4)).ToArray());
        Assert.True(r.ConvergenceDelta.abs().max().item<float>() < 1e-5);
    }
}
