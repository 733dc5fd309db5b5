using System.Collections;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Serialization;

/// <summary>
/// Named tensors read from a checkpoint, in file order. Owns its tensors: disposing it disposes them.
/// </summary>
public sealed class StateDict : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly OrderedDictionary<string, Tensor> tensors;

    public StateDict(OrderedDictionary<string, Tensor> tensors, string? source = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        this.tensors = tensors;
        Source = source;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>The file the tensors came from, if any.</summary>
    public string? Source { get; }

    /// <summary>String metadata (safetensors <c>__metadata__</c>); empty for .pth files.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public Tensor this[string key] => tensors.TryGetValue(key, out var t) ? t
        : throw new KeyNotFoundException($"no tensor named '{key}' in {Source ?? "the state dict"}");
    public IEnumerable<string> Keys => tensors.Keys;
    public IEnumerable<Tensor> Values => tensors.Values;
    public int Count => tensors.Count;
    public bool ContainsKey(string key) => tensors.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => tensors.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => tensors.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
        tensors.Clear();
    }
}
