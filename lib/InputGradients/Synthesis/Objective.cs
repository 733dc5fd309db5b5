using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Synthesis;

/// <summary>What one forward pass of <see cref="Ascent"/> hands an objective: the (transformed) input batch, the model
/// output (null when no objective needs it) and the captured layers.</summary>
public sealed record Activations(Tensor Input, Tensor? Output, IReadOnlyDictionary<string, Tensor> Layers)
{
    public Tensor Layer(string name) => Layers.TryGetValue(name, out var a) ? a
        : throw new InvalidOperationException($"Layer '{name}' was not captured.");
    public Tensor NeedOutput() => Output ?? throw new InvalidOperationException("The model output was not computed.");

    /// <summary>The same activations for example <paramref name="i"/> only (batch size 1).</summary>
    public Activations Example(long i) => new(Input.narrow(0, i, 1), Output?.narrow(0, i, 1),
        Layers.ToDictionary(kv => kv.Key, kv => kv.Value.narrow(0, i, 1)));
}

/// <summary>
/// A scalar to maximise, as a value: objectives add, subtract and scale (<c>2 * a - b</c>), and carry a readable
/// <see cref="Description"/>. Factories: <see cref="ClassLogit"/>, <see cref="Channel"/>, <see cref="Neuron"/>,
/// <see cref="Direction"/>, <see cref="Diversity"/>, <see cref="L2"/>. Each sums over the examples of the batch, so
/// example i's gradient does not depend on the other examples (except for <see cref="Diversity"/>, which compares them);
/// <see cref="ForExample"/> restricts one to one example, which is how <see cref="Ascent"/> optimises several at once.
/// </summary>
/// <example><code>
/// var o = Objective.ClassLogit(76) - 1e-3 * Objective.L2();            // the original class visualisation
/// var f = Objective.Channel("layer4.pre_relu", 42) + 0.1 * Objective.Diversity("layer3");
/// Console.WriteLine(f.Description);
/// </code></example>
public sealed class Objective
{
    readonly Func<Activations, Tensor> value;

    /// <summary>Readable description, e.g. "channel 42 of layer4.pre_relu − 0.001·L2(input)".</summary>
    public string Description { get; }
    /// <summary>Layers this objective reads (from <c>named_modules()</c> or the taps of an <see cref="ITappable"/> model).</summary>
    public IReadOnlyList<string> Layers { get; }
    /// <summary>Whether it reads the model output.</summary>
    public bool NeedsOutput { get; }
    /// <summary>The layer and channel when this is a plain <see cref="Channel"/> objective, else null.</summary>
    public (string Layer, long Channel)? ChannelTarget { get; private init; }
    /// <summary>The class when this is a plain <see cref="ClassLogit"/> objective, else null.</summary>
    public long? ClassTarget { get; private init; }

    /// <param name="description">Readable text.</param>
    /// <param name="layers">Layers the function reads.</param>
    /// <param name="needsOutput">Whether the function reads the model output.</param>
    /// <param name="value">Activations → scalar tensor.</param>
    public Objective(string description, IEnumerable<string> layers, bool needsOutput, Func<Activations, Tensor> value)
    {
        Description = description;
        Layers = layers.Distinct().ToArray();
        NeedsOutput = needsOutput;
        this.value = value;
    }

    /// <summary>The objective's value (a scalar tensor in the autograd graph of the activations).</summary>
    public Tensor evaluate(Activations a)
    {
        var v = value(a);
        if (v.numel() != 1) throw new InvalidOperationException($"Objective '{Description}' gave shape [{string.Join(",", v.shape)}], not a scalar.");
        return v.reshape(Array.Empty<long>());
    }

    /// <summary>This objective on example <paramref name="i"/> of the batch only.</summary>
    public Objective ForExample(long i)
    {
        if (i < 0) throw new ArgumentOutOfRangeException(nameof(i), $"example must be non-negative, got {i}.");
        return new Objective($"[{i}] {Description}", Layers, NeedsOutput, a =>
        {
            if (i >= a.Input.shape[0]) throw new ArgumentException($"Objective '{Description}': example {i} of a batch of {a.Input.shape[0]}.");
            return value(a.Example(i));
        });
    }

    public static Objective operator +(Objective a, Objective b) =>
        new($"{a.Description} + {b.Description}", a.Layers.Concat(b.Layers), a.NeedsOutput || b.NeedsOutput, x => a.value(x).add_tensor(b.value(x)));

    public static Objective operator -(Objective a, Objective b) =>
        new($"{a.Description} − {(b.Description.Contains(" + ") || b.Description.Contains(" − ") ? $"({b.Description})" : b.Description)}", a.Layers.Concat(b.Layers), a.NeedsOutput || b.NeedsOutput, x => a.value(x) - b.value(x));

    public static Objective operator -(Objective a) => -1 * a;

    public static Objective operator *(double w, Objective a) =>
        new($"{w:G4}·{Paren(a)}", a.Layers, a.NeedsOutput, x => a.value(x).mul_scalar(w));

    public static Objective operator *(Objective a, double w) => w * a;

    public static Objective operator /(Objective a, double w) =>
        w == 0 ? throw new DivideByZeroException($"Objective '{a.Description}' divided by 0.") : (1 / w) * a;

    /// <summary>The sum of several objectives (e.g. one per example).</summary>
    public static Objective Sum(IEnumerable<Objective> objectives)
    {
        var list = objectives.ToList();
        if (list.Count == 0) throw new ArgumentException("Objective.Sum: no objectives.");
        return list.Count == 1 ? list[0] : new($"sum of {list.Count}: {string.Join("; ", list.Select(o => o.Description))}",
            list.SelectMany(o => o.Layers), list.Any(o => o.NeedsOutput), x => list.Select(o => o.value(x)).Aggregate((p, q) => p.add_tensor(q)));
    }

    static string Paren(Objective o) => o.Description.Contains(' ') ? $"({o.Description})" : o.Description;

    /// <summary>Class score (logit, before softmax) <c>output[:, k]</c>, summed over the batch.</summary>
    public static Objective ClassLogit(long k)
    {
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), $"class must be non-negative, got {k}.");
        return new Objective($"logit of class {k}", Array.Empty<string>(), true, a =>
        {
            var o = a.NeedOutput();
            if (o.dim() != 2 || k >= o.shape[1])
                throw new ArgumentException($"Objective class {k}: the model output has shape [{string.Join(",", o.shape)}]; class {k} does not exist.");
            return o.select(1, k).sum();
        }) { ClassTarget = k };
    }

    /// <summary>Mean over positions of channel <paramref name="channel"/> of <paramref name="layer"/> (N×C×h×w), summed over the batch.</summary>
    public static Objective Channel(string layer, long channel)
    {
        if (channel < 0) throw new ArgumentOutOfRangeException(nameof(channel), $"channel must be non-negative, got {channel}.");
        return new Objective($"channel {channel} of {layer}", new[] { layer }, false, a =>
        {
            var t = Channels(a.Layer(layer), layer, channel);
            return t.select(1, channel).reshape(t.shape[0], -1).mean(new long[] { 1 }).sum();
        }) { ChannelTarget = (layer, channel) };
    }

    /// <summary>One unit: channel <paramref name="channel"/> of <paramref name="layer"/> at row <paramref name="y"/>,
    /// column <paramref name="x"/> (default: the centre, ⌊h/2⌋, ⌊w/2⌋), summed over the batch.</summary>
    public static Objective Neuron(string layer, long channel, long? y = null, long? x = null)
    {
        if (channel < 0) throw new ArgumentOutOfRangeException(nameof(channel), $"channel must be non-negative, got {channel}.");
        var where = y is null && x is null ? "centre" : $"({y}, {x})";
        return new Objective($"neuron {channel} at {where} of {layer}", new[] { layer }, false, a =>
        {
            var t = Channels(a.Layer(layer), layer, channel);
            if (t.dim() != 4) throw new ArgumentException($"Objective neuron: layer '{layer}' has shape [{string.Join(",", t.shape)}], not N×C×h×w.");
            long yy = y ?? t.shape[2] / 2, xx = x ?? t.shape[3] / 2;
            if (yy < 0 || yy >= t.shape[2] || xx < 0 || xx >= t.shape[3])
                throw new ArgumentException($"Objective neuron: position ({yy}, {xx}) is outside layer '{layer}' ({t.shape[2]}×{t.shape[3]}).");
            return t[.., channel, yy, xx].sum();
        });
    }

    /// <summary>Cosine similarity between the activation vector at each position of <paramref name="layer"/> and
    /// <paramref name="direction"/> (length C), averaged over positions and summed over the batch (Olah et al. 2017).</summary>
    public static Objective Direction(string layer, Tensor direction)
    {
        if (direction.dim() != 1) throw new ArgumentException($"Objective direction: expected a vector of length C, got [{string.Join(",", direction.shape)}].");
        // Kept as numbers, not a tensor: an objective may outlive any dispose scope.
        double[] d;
        using (var cpu = direction.detach().to_type(ScalarType.Float64).cpu()) d = cpu.data<double>().ToArray();
        return new Objective($"direction in {layer}", new[] { layer }, false, a =>
        {
            var t = a.Layer(layer);
            if (t.dim() < 2 || t.shape[1] != d.Length)
                throw new ArgumentException($"Objective direction: layer '{layer}' has shape [{string.Join(",", t.shape)}]; the direction has {d.Length} values.");
            var shape = Enumerable.Repeat(1L, (int)t.dim()).ToArray();
            shape[1] = -1;
            var v = torch.tensor(d, dtype: t.dtype, device: t.device).view(shape);
            var cos = (t * v).sum(1) / (t.norm(1) * v.norm()).clamp_scalar(1e-8, null);
            return cos.reshape(t.shape[0], -1).mean(new long[] { 1 }).sum();
        });
    }

    /// <summary>
    /// Diversity of a batch (Olah et al. 2017): with G_i the Gram matrix of example i's activations of
    /// <paramref name="layer"/> (C×C, normalised to unit Frobenius norm), −(1/N)·Σ_{i≠j} ⟨G_i, G_j⟩. Maximising it makes
    /// the examples' styles differ; it is 0 for one example.
    /// </summary>
    public static Objective Diversity(string layer) => new($"diversity of {layer}", new[] { layer }, false, a =>
    {
        var t = a.Layer(layer);
        long n = t.shape[0];
        var f = t.reshape(n, t.shape[1], -1);
        var g = torch.matmul(f, f.transpose(1, 2)).reshape(n, -1);
        g = g / g.norm(1, keepdim: true).clamp_scalar(1e-12, null);
        var sim = torch.matmul(g, g.t());
        return (sim.sum() - sim.diagonal().sum()).div_scalar(-n);
    });

    /// <summary>Squared L2 norm of the input, ‖x‖² (subtract it with a weight: the original's penalty).</summary>
    public static Objective L2() => new("L2(input)", Array.Empty<string>(), false, a => a.Input.pow_scalar(2).sum());

    /// <summary>A row-wise <see cref="Target"/> as an objective (its scores summed over the batch).</summary>
    public static Objective Of(Target target)
    {
        switch (target) {
            case Target.ClassIndex c: return ClassLogit(c.Index);
            case Target.PerExample: throw new ArgumentException("Objective: use one class or a score function, not per-example targets (for a batch: ClassLogit(k).ForExample(i) per image).");
            default:
                var layer = target.LayerName;
                return new Objective(target.ToString(), layer is null ? Array.Empty<string>() : new[] { layer }, layer is null,
                    a => target.scores(a.Output, a.Layers, a.Input.shape[0]).sum());
        }
    }

    /// <summary>A class index is its logit; a <see cref="Target"/> its score (see <see cref="Of"/>).</summary>
    public static implicit operator Objective(long k) => ClassLogit(k);
    public static implicit operator Objective(int k) => ClassLogit(k);
    public static implicit operator Objective(Target target) => Of(target);

    static Tensor Channels(Tensor t, string layer, long channel)
    {
        if (t.dim() < 2 || channel >= t.shape[1])
            throw new ArgumentException($"Layer '{layer}' has shape [{string.Join(",", t.shape)}]; channel {channel} does not exist.");
        return t;
    }

    public override string ToString() => Description;
}
