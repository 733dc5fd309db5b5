using InputGradients.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Runtime;

/// <summary>
/// The cache of tensors derived from other tensors: libtorch's version counter behaves as PyTorch documents
/// (<c>t._version</c>: 0 when made, one more per in-place operation, shared by views), and an entry is reused exactly
/// while its sources are the same storage at the same version.
/// </summary>
public sealed class DerivedTensorsTests
{
    [Fact]
    public void The_version_counter_counts_in_place_operations_and_is_shared_by_views()
    {
        Assert.True(DerivedTensors.Available);
        using var t = zeros(4);
        Assert.Equal(0, DerivedTensors.Version(t));
        t.add_(1);
        Assert.Equal(1, DerivedTensors.Version(t));
        using (no_grad()) t.copy_(ones(4));
        Assert.Equal(2, DerivedTensors.Version(t));
        using var view = t[1..3];
        view.mul_(2);
        Assert.Equal(3, DerivedTensors.Version(t));
        using var sum = t + 1;   // out of place: no change
        Assert.Equal(3, DerivedTensors.Version(t));
        Assert.Equal(DerivedTensors.DataPointer(t) + 4, DerivedTensors.DataPointer(view));
    }

    [Fact]
    public void An_entry_is_reused_while_its_sources_are_unchanged_and_recomputed_after_any_change()
    {
        using var a = arange(6, dtype: float32);
        using var b = full(6, 2f);
        int computed = 0;
        DerivedTensors? entry = null;
        Tensor[] Compute() { computed++; return [a * b]; }
        try
        {
            var first = DerivedTensors.GetOrCompute(ref entry, [a, b], Compute)[0];
            var second = DerivedTensors.GetOrCompute(ref entry, [a, b], Compute)[0];
            Assert.Equal(1, computed);
            Assert.Same(first, second);

            b.add_(1);   // in place: recomputed, with the new value
            var third = DerivedTensors.GetOrCompute(ref entry, [a, b], Compute)[0];
            Assert.Equal(2, computed);
            Assert.Equal(new float[] { 0, 3, 6, 9, 12, 15 }, third.data<float>().ToArray());

            using var other = full(6, 3f);   // same value, another tensor: recomputed
            DerivedTensors.GetOrCompute(ref entry, [a, other], Compute);
            Assert.Equal(3, computed);
            using var reshaped = a.view(2, 3);   // same storage and version, another shape: recomputed
            DerivedTensors.GetOrCompute(ref entry, [reshaped, other], () => { computed++; return [reshaped * other.view(2, 3)]; });
            Assert.Equal(4, computed);
        }
        finally { entry?.Dispose(); }
    }

    [Fact]
    public void Values_are_computed_without_a_graph_and_outlive_the_callers_dispose_scope()
    {
        using var w = randn(3, requires_grad: true);
        DerivedTensors? entry = null;
        try
        {
            Tensor value;
            using (NewDisposeScope())
                value = DerivedTensors.GetOrCompute(ref entry, [w], () => [w * 2])[0];
            Assert.False(value.requires_grad);
            Assert.Equal((w * 2).detach().data<float>().ToArray(), value.data<float>().ToArray());
        }
        finally { entry?.Dispose(); }
    }
}
