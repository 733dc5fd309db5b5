using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace InputGradients.Tests.Attribution;

/// <summary>x + relu(conv(x)), the residual block of <see cref="RefNet"/>.</summary>
public sealed class RefBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly ReLU relu;
    public RefBlock(long c) : base("block")
    {
        conv = Conv2d(c, c, 3, padding: 1);
        relu = ReLU();
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => x + relu.call(conv.call(x));
}

/// <summary>The C# twin of RefNet in tests/reference/attribution_reference.py (same layer names and order).</summary>
public sealed class RefNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly ReLU relu1, relu2;
    private readonly MaxPool2d pool;
    private readonly RefBlock block;
    private readonly Linear fc;

    public RefNet(bool inplace_relu2 = true) : base("RefNet")
    {
        conv1 = Conv2d(3, 4, 3, padding: 1);
        relu1 = ReLU();
        pool = MaxPool2d(2);
        conv2 = Conv2d(4, 6, 3, padding: 1);
        relu2 = ReLU(inplace: inplace_relu2);
        block = new RefBlock(6);
        fc = Linear(96, 5);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = pool.call(relu1.call(conv1.call(x)));
        h = block.call(relu2.call(conv2.call(h)));
        return fc.call(h.flatten(1));
    }

    public ReLU Relu2 => relu2;

    /// <summary>The weights written by the reference script, in float64.</summary>
    public static RefNet Load()
    {
        var model = new RefNet();
        Fixtures.load_raw_weights(model, Path.Combine(Fixtures.Dir, "refnet.weights.json"), Path.Combine(Fixtures.Dir, "refnet.weights.bin"));
        model.to(ScalarType.Float64);
        model.eval();
        return model;
    }
}

public static class Fixtures
{
    public static string Dir { get; } = TestPaths.Fixture("attribution");

    private static JsonElement? reference;
    public static JsonElement Reference => reference ??= JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "reference.json"))).RootElement;

    public static double[] Doubles(string key) => Reference.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();
    public static long[] Longs(string key) => Reference.GetProperty(key).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    public static Tensor Tensor(string key, long[] shape) => torch.tensor(Doubles(key), dtype: ScalarType.Float64).reshape(shape);

    /// <summary>Loads raw little-endian float32 arrays listed in a JSON index into the module's parameters and buffers
    /// (test helper; the library's checkpoint readers live elsewhere).</summary>
    public static void load_raw_weights(Module model, string index_path, string bin_path)
    {
        var index = JsonDocument.Parse(File.ReadAllText(index_path)).RootElement.GetProperty("tensors");
        var bytes = File.ReadAllBytes(bin_path);
        var sd = model.state_dict();
        var seen = new HashSet<string>();
        using var no = torch.no_grad();
        foreach (var e in index.EnumerateObject()) {
            if (!sd.TryGetValue(e.Name, out var p)) throw new InvalidDataException($"{index_path}: '{e.Name}' is not in the model.");
            var shape = e.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            long offset = e.Value.GetProperty("offset").GetInt64();
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (!p.shape.SequenceEqual(shape)) throw new InvalidDataException($"{index_path}: '{e.Name}' has shape [{string.Join(",", shape)}], the model [{string.Join(",", p.shape)}].");
            var floats = new float[count];
            Buffer.BlockCopy(bytes, (int)offset, floats, 0, (int)(count * 4));
            using var t = torch.tensor(floats).reshape(shape);
            p.copy_(t);
            seen.Add(e.Name);
        }
        var missing = sd.Keys.Where(k => !seen.Contains(k)).ToArray();
        if (missing.Length > 0) throw new InvalidDataException($"{index_path}: no values for {string.Join(", ", missing)}.");
    }
}

/// <summary>out = [a·relu(x₀) + b·relu(x₁)] for inputs N×1×1×2, through a 1×1 conv with weight 1 (layer "conv").</summary>
public sealed class TwoPixelNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly ReLU relu;
    private readonly Linear fc;
    public TwoPixelNet(double a, double b) : base("TwoPixelNet")
    {
        conv = Conv2d(1, 1, 1, bias: false);
        relu = ReLU();
        fc = Linear(2, 1, hasBias: false);
        RegisterComponents();
        using var no = torch.no_grad();
        conv.weight!.fill_(1.0);
        fc.weight!.copy_(torch.tensor(new[] { (float)a, (float)b }).view(1, 2));
        this.to(ScalarType.Float64);
    }
    public override Tensor forward(Tensor x) => fc.call(relu.call(conv.call(x)).flatten(1));
}

/// <summary>out = Σ x² (one output per example).</summary>
public sealed class SquareNet : Module<Tensor, Tensor>
{
    public SquareNet() : base("SquareNet") { }
    public override Tensor forward(Tensor x) => x.pow(2).reshape(x.shape[0], -1).sum(1, keepdim: true);
}

/// <summary>A model whose forward calls child.forward(): hooks on its children never fire in TorchSharp.</summary>
public sealed class ForwardCallingNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly ReLU relu;
    private readonly Linear fc;
    public ForwardCallingNet() : base("ForwardCallingNet")
    {
        conv = Conv2d(1, 2, 3, padding: 1);
        relu = ReLU();
        fc = Linear(2 * 4 * 4, 3);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => fc.forward(relu.forward(conv.forward(x)).flatten(1));
}

/// <summary>A model with a functional relu and no ReLU module.</summary>
public sealed class FunctionalReluNet : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;
    public FunctionalReluNet() : base("FunctionalReluNet")
    {
        fc1 = Linear(4, 4);
        fc2 = Linear(4, 2);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => fc2.call(functional.relu(fc1.call(x)));
}
