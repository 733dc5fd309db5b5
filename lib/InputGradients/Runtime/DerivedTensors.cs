using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Runtime;

/// <summary>
/// Tensors computed from other tensors (a batch norm folded into a convolution's weight, a weight reordered into
/// oneDNN's layout), kept for as long as their sources are unchanged, so a frozen model stops recomputing them on every
/// call. "Unchanged" is decided the way PyTorch decides a saved tensor was modified: the source still has the same
/// storage and the same version counter (<c>t._version</c>, which every in-place operation bumps: <c>copy_</c>,
/// <c>add_</c>, loading weights, the randomisation tests). An entry holds an alias of each source, so no other tensor
/// can take a source's address while the entry lives.
/// </summary>
/// <remarks>
/// A write that bypasses libtorch (through a raw pointer or <c>data&lt;T&gt;()</c>'s accessor) does not bump the
/// version; nothing in the library writes weights that way. Where this libtorch exports no version counter,
/// <see cref="Available"/> is false and callers recompute every time.
/// </remarks>
public sealed unsafe class DerivedTensors : IDisposable
{
    static readonly object Gate = new();
    static bool bound;
    static delegate* unmanaged<IntPtr, long> version;   // at::native::_version(const at::Tensor&)
    static delegate* unmanaged<IntPtr, IntPtr> data;     // TorchSharp's THSTensor_data: the first element's address

    /// <summary>Whether versions and addresses can be read in this process.</summary>
    public static bool Available { get { Bind(); return version != null && data != null; } }

    /// <summary>libtorch's version counter of <paramref name="t"/> (PyTorch's <c>t._version</c>).</summary>
    public static long Version(Tensor t) { Require(); return version(t.Handle); }

    /// <summary>Whether <see cref="DataPointer"/> works (TorchSharp's native library exports it).</summary>
    public static bool DataPointerAvailable { get { Bind(); return data != null; } }

    /// <summary>The address of <paramref name="t"/>'s first element (also what <see cref="SystemOneDnn"/> hands to oneDNN).</summary>
    public static IntPtr DataPointer(Tensor t)
    {
        if (!DataPointerAvailable) throw new InvalidOperationException("DerivedTensors: TorchSharp's native library exports no THSTensor_data.");
        return data(t.Handle);
    }

    static void Require()
    {
        if (!Available) throw new InvalidOperationException("DerivedTensors: this libtorch exports no tensor version counter.");
    }

    static void Bind()
    {
        if (bound) return;
        lock (Gate)
        {
            if (bound) return;
            TorchRuntime.EnsureLoaded();
            if (NativeLibrary.TryLoad("torch_cpu", typeof(torch).Assembly, null, out var torchCpu) &&
                NativeLibrary.TryGetExport(torchCpu, OperatingSystem.IsWindows() ? "?_version@native@at@@YA_JAEBVTensor@2@@Z" : "_ZN2at6native8_versionERKNS_6TensorE", out var v))
                version = (delegate* unmanaged<IntPtr, long>)v;
            if (NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, out var torchSharp) &&
                NativeLibrary.TryGetExport(torchSharp, "THSTensor_data", out var d))
                data = (delegate* unmanaged<IntPtr, IntPtr>)d;
            bound = true;
        }
    }

    readonly Tensor[] sources;
    readonly (IntPtr Address, long Version)[] stamps;

    /// <summary>What was computed from the sources.</summary>
    public IReadOnlyList<Tensor> Values { get; }

    DerivedTensors(Tensor[] sources, Tensor[] values)
    {
        this.sources = sources.Select(s => { var a = s.alias(); a.DetachFromDisposeScope(); return a; }).ToArray();
        stamps = sources.Select(s => (DataPointer(s), Version(s))).ToArray();
        foreach (var v in values) v.DetachFromDisposeScope();
        Values = values;
    }

    /// <summary>Whether <paramref name="now"/> are the same tensors, unchanged, as the sources of this entry.</summary>
    public bool Matches(IReadOnlyList<Tensor> now)
    {
        if (now.Count != stamps.Length) return false;
        for (int i = 0; i < stamps.Length; i++)
            if (DataPointer(now[i]) != stamps[i].Address || Version(now[i]) != stamps[i].Version
                || !now[i].shape.SequenceEqual(sources[i].shape) || !now[i].stride().SequenceEqual(sources[i].stride()))
                return false;
        return true;
    }

    /// <summary>Whether <paramref name="now"/> live at this entry's sources' addresses, changed or not.</summary>
    public bool SameStorage(IReadOnlyList<Tensor> now) =>
        now.Count == stamps.Length && now.Select(DataPointer).SequenceEqual(stamps.Select(s => s.Address));

    /// <summary>
    /// <paramref name="cached"/>'s values when its sources are unchanged; else computes them with
    /// <paramref name="compute"/>, replaces (and disposes) <paramref name="cached"/>, and returns the new values.
    /// The values belong to the entry: callers must not dispose them.
    /// </summary>
    public static IReadOnlyList<Tensor> GetOrCompute(ref DerivedTensors? cached, Tensor[] sources, Func<Tensor[]> compute)
    {
        if (cached is not null && cached.Matches(sources)) return cached.Values;
        Tensor[] values;
        using (no_grad()) values = compute();
        var entry = new DerivedTensors(sources, values);
        cached?.Dispose();
        cached = entry;
        return entry.Values;
    }

    public void Dispose()
    {
        foreach (var s in sources) s.Dispose();
        foreach (var v in Values) v.Dispose();
    }
}
