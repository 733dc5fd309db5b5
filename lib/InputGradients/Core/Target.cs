using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// What an attribution explains: one scalar score per example, taken from the model output or from an
/// intermediate layer. A small closed set of cases (compare Captum's six-way <c>TargetType</c>):
/// <list type="bullet">
/// <item><see cref="ClassIndex"/>: the same class score (logit, not loss) for every example.</item>
/// <item><see cref="PerExample"/>: one class index per example (N indices).</item>
/// <item><see cref="OutputScore"/>: any row-wise function of the model output (N×K → N).</item>
/// <item><see cref="LayerScore"/>: any row-wise function of a named layer's output (N×… → N), e.g. the mean of
/// channel k of a ResNet stage (<see cref="Channel"/>).</item>
/// </list>
/// </summary>
/// <example><code>
/// Target t1 = 6;                                   // class 6 for all examples
/// var t2 = Target.Classes(3, 1, 4);                // one class per example
/// var t3 = Target.Channel("layer4", 42);           // mean of channel 42 of layer4
/// var t4 = Target.Output(o => o.softmax(1)[.., 0], "p(class 0)");
/// </code></example>
public abstract record Target
{
    private Target() { }

    /// <summary>Class score <c>output[:, Index]</c> for every example.</summary>
    public sealed record ClassIndex(long Index) : Target
    {
        public override string ToString() => $"class {Index}";
    }

    /// <summary>Class score <c>output[i, Indices[i]]</c>: one index per example.</summary>
    public sealed record PerExample(long[] Indices) : Target
    {
        public override string ToString() => $"classes [{string.Join(", ", Indices)}]";
    }

    /// <summary>A row-wise score of the model output: N×… → N. Row i must depend on row i only.</summary>
    public sealed record OutputScore(Func<Tensor, Tensor> Score, string Description) : Target
    {
        public override string ToString() => Description;
    }

    /// <summary>A row-wise score of the output of the layer <paramref name="Layer"/> (a name from
    /// <c>named_modules()</c>, or a tap of an <see cref="ITappable"/> model): N×… → N.</summary>
    public sealed record LayerScore(string Layer, Func<Tensor, Tensor> Score, string Description) : Target
    {
        public override string ToString() => Description;
    }

    public static Target Class(long index) => new ClassIndex(index);
    public static Target Classes(params long[] indices) => new PerExample(indices);

    /// <summary>One class per example from an integer label tensor of shape N (e.g. a batch's labels).</summary>
    public static Target Classes(Tensor labels)
    {
        if (labels.dim() != 1 || labels.is_floating_point())
            throw new ArgumentException($"Target.Classes: labels must be an integer tensor of shape N, got {labels.dtype} [{string.Join(",", labels.shape)}].");
        using var l = labels.to_type(ScalarType.Int64).cpu();
        return new PerExample(l.data<long>().ToArray());
    }
    public static Target Output(Func<Tensor, Tensor> score, string description = "score of the output") => new OutputScore(score, description);
    public static Target OfLayer(string layer, Func<Tensor, Tensor> score, string description) => new LayerScore(layer, score, description);

    /// <summary>Mean over all positions of channel <paramref name="channel"/> of layer <paramref name="layer"/>
    /// (N×C×h×w → N); the usual feature-visualisation objective.</summary>
    public static Target Channel(string layer, long channel)
    {
        if (channel < 0) throw new ArgumentOutOfRangeException(nameof(channel), $"channel must be non-negative, got {channel}.");
        return new LayerScore(layer, a =>
        {
            if (a.dim() < 2 || channel >= a.shape[1])
                throw new ArgumentException($"Layer '{layer}' has shape [{string.Join(",", a.shape)}]; channel {channel} does not exist.");
            return a.select(1, channel).reshape(a.shape[0], -1).mean(new long[] { 1 });
        }, $"mean of channel {channel} of {layer}");
    }

    public static implicit operator Target(long index) => new ClassIndex(index);
    public static implicit operator Target(int index) => new ClassIndex(index);
    public static implicit operator Target(long[] indices) => new PerExample(indices);

    /// <summary>The layer this target reads, or null when it reads the model output.</summary>
    public string? LayerName => this is LayerScore l ? l.Layer : null;

    /// <summary>The scores (shape N) for a batch of N examples given the model output and the captured layers.</summary>
    public Tensor scores(Tensor? output, IReadOnlyDictionary<string, Tensor> layers, long n)
    {
        Tensor s;
        switch (this) {
            case ClassIndex c:
                var o = Need(output);
                if (o.dim() != 2) throw new ArgumentException($"Target {this}: expected a model output of shape N×K, got [{string.Join(",", o.shape)}].");
                if (c.Index < 0 || c.Index >= o.shape[1]) throw new ArgumentOutOfRangeException(nameof(Target), $"Target {this}: the model has {o.shape[1]} outputs.");
                s = o.select(1, c.Index);
                break;
            case PerExample p:
                o = Need(output);
                if (o.dim() != 2) throw new ArgumentException($"Target {this}: expected a model output of shape N×K, got [{string.Join(",", o.shape)}].");
                if (p.Indices.Length != n) throw new ArgumentException($"Target {this}: {p.Indices.Length} indices for {n} examples.");
                foreach (var i in p.Indices)
                    if (i < 0 || i >= o.shape[1]) throw new ArgumentOutOfRangeException(nameof(Target), $"Target index {i} out of range: the model has {o.shape[1]} outputs.");
                using (var idx = torch.tensor(p.Indices, device: o.device).unsqueeze(1))
                    s = o.gather(1, idx).squeeze(1);
                break;
            case OutputScore f:
                s = f.Score(Need(output));
                break;
            case LayerScore l:
                if (!layers.TryGetValue(l.Layer, out var a))
                    throw new InvalidOperationException($"Target {this}: layer '{l.Layer}' was not captured.");
                s = l.Score(a);
                break;
            default: throw new NotSupportedException(GetType().Name);
        }
        if (s.dim() != 1 || s.shape[0] != n)
            throw new ArgumentException($"Target {this}: the score must have shape [{n}] (one per example), got [{string.Join(",", s.shape)}].");
        return s;

        Tensor Need(Tensor? t) => t ?? throw new InvalidOperationException($"Target {this} needs the model output, which was not computed.");
    }

    /// <summary>The same target for a batch in which each example is repeated <paramref name="rows"/> times
    /// following <paramref name="example"/> (row r explains example <c>example[r]</c>).</summary>
    internal Target for_rows(long[] example) => this is PerExample p ? new PerExample(example.Select(e => p.Indices[e]).ToArray()) : this;
}
