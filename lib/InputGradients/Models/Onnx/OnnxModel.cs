using Google.Protobuf;
using InputGradients.Core;
using InputGradients.Models.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Models.Onnx;

/// <summary>
/// An ONNX model read with a protobuf parser (classes generated from <c>onnx_ir.proto</c>), with
/// lookups by name and checked access to attributes and dense float tensors. Reading only parses
/// data; nothing in the file is executed. The graph is checked on reading: every node has an output, no value is
/// produced twice, and there is no cycle (so walking it always ends). Tensor sizes are checked for overflow and
/// against <see cref="LoadLimits.MaxTensorBytes"/> before their data is copied; names from the file are sanitized
/// before they appear in messages.
/// </summary>
public sealed class OnnxModel
{
    public ModelProto Proto { get; }

    /// <summary>Where the model was read from (for error messages).</summary>
    public string Source { get; }

    public GraphProto Graph => Proto.Graph;

    /// <summary>The bounds sizes in the file are checked against.</summary>
    public LoadLimits Limits { get; }

    readonly Dictionary<string, TensorProto> _initializers;

    OnnxModel(ModelProto proto, string source, LoadLimits limits)
    {
        Proto = proto;
        Source = source;
        Limits = limits;
        if (proto.Graph is null || proto.Graph.Node.Count == 0)
            throw new OnnxFormatException($"{source}: the ONNX model has no graph (is this an ONNX file?).");
        _initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in proto.Graph.Initializer)
            _initializers[t.Name] = t;
        CheckGraph();
    }

    /// <summary>A name from the file, safe to put in a message.</summary>
    public static string Name(string? name) => InvalidFileException.Sanitize(name, 80);

    /// <summary>Every node has an output, each value has one producer, and the nodes can be ordered (no cycle).</summary>
    void CheckGraph()
    {
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        var nodes = Graph.Node;
        for (int i = 0; i < nodes.Count; i++)
        {
            if (nodes[i].Output.Count == 0 || nodes[i].Output.Any(o => o.Length == 0))
                throw new OnnxFormatException($"{Source}: node '{Name(nodes[i].Name)}' ({Name(nodes[i].OpType)}) has a missing output.");
            foreach (var o in nodes[i].Output)
                if (!producer.TryAdd(o, i))
                    throw new OnnxFormatException($"{Source}: value '{Name(o)}' is produced by two nodes ('{Name(nodes[producer[o]].Name)}' and '{Name(nodes[i].Name)}').");
        }
        // Kahn's algorithm, iteratively: a node is ready when every input it reads from another node is ready.
        var waiting = new int[nodes.Count];
        var consumers = new List<int>[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            consumers[i] = new List<int>();
        }
        for (int i = 0; i < nodes.Count; i++)
            foreach (var input in nodes[i].Input.Distinct())
                if (producer.TryGetValue(input, out var p)) { waiting[i]++; consumers[p].Add(i); }
        var ready = new Queue<int>(Enumerable.Range(0, nodes.Count).Where(i => waiting[i] == 0));
        int ordered = 0;
        while (ready.Count > 0)
        {
            int n = ready.Dequeue();
            ordered++;
            foreach (var c in consumers[n])
                if (--waiting[c] == 0) ready.Enqueue(c);
        }
        if (ordered != nodes.Count)
        {
            var stuck = nodes[Array.FindIndex(waiting, w => w > 0)];
            throw new OnnxFormatException($"{Source}: the graph has a cycle (node '{Name(stuck.Name)}' ({Name(stuck.OpType)}) depends on its own output); an ONNX graph must not.");
        }
    }

    /// <summary>Input <paramref name="i"/> of a node, or a clear error if the node has fewer.</summary>
    public string Input(NodeProto node, int i) =>
        i < node.Input.Count && node.Input[i].Length > 0 ? node.Input[i]
            : throw new OnnxFormatException($"{Source}: node '{Name(node.Name)}' ({Name(node.OpType)}) has {node.Input.Count} input(s); input {i + 1} is missing.");

    /// <summary>Output <paramref name="i"/> of a node, or a clear error if the node has fewer.</summary>
    public string Output(NodeProto node, int i) =>
        i < node.Output.Count ? node.Output[i]
            : throw new OnnxFormatException($"{Source}: node '{Name(node.Name)}' ({Name(node.OpType)}) has {node.Output.Count} output(s); output {i + 1} is missing.");

    /// <summary>Reads an ONNX model file, with a clear error if it is missing, truncated or not ONNX.</summary>
    public static OnnxModel Load(string path, LoadLimits? limits = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"ONNX model file not found: {path}", path);
        byte[] bytes = File.ReadAllBytes(path);
        return Parse(bytes, path, limits);
    }

    /// <summary>Parses an ONNX model from bytes; <paramref name="source"/> names it in errors.</summary>
    public static OnnxModel Parse(ReadOnlySpan<byte> bytes, string source = "<bytes>", LoadLimits? limits = null)
    {
        if (bytes.Length == 0)
            throw new OnnxFormatException($"{source}: the file is empty, not an ONNX model.");
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException(
                $"{source}: not a readable ONNX model ({bytes.Length:N0} bytes); the file is truncated or corrupt: {e.Message}", e);
        }
        if (!proto.HasIrVersion || proto.IrVersion <= 0)
            throw new OnnxFormatException($"{source}: not an ONNX model (no IR version in the header).");
        return new OnnxModel(proto, source, limits ?? LoadLimits.Default);
    }

    /// <summary>The opset version of the default ("" or "ai.onnx") domain, or 0 if none is declared.</summary>
    public long DefaultOpsetVersion =>
        Proto.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

    /// <summary>Graph inputs that are not initializers (the values a caller feeds).</summary>
    public IReadOnlyList<ValueInfoProto> RealInputs =>
        Graph.Input.Where(i => !_initializers.ContainsKey(i.Name)).ToList();

    public bool HasInitializer(string name) => _initializers.ContainsKey(name);

    public TensorProto Initializer(string name) =>
        _initializers.TryGetValue(name, out var t)
            ? t
            : throw new OnnxFormatException($"{Source}: initializer '{Name(name)}' is missing from the graph (truncated or edited file?).");

    /// <summary>The dims of an initializer.</summary>
    public long[] Shape(string name) => Initializer(name).Dims.ToArray();

    /// <summary>The values of a FLOAT initializer (raw_data or float_data), checked against its dims; dims whose
    /// product overflows or exceeds <see cref="LoadLimits.MaxTensorBytes"/> are refused before anything is copied.</summary>
    public float[] FloatData(string name)
    {
        var t = Initializer(name);
        string n = Name(name);
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
            throw new OnnxFormatException($"{Source}: initializer '{n}' has data type {t.DataType}, expected FLOAT (1).");
        if (t.HasDataLocation && t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new OnnxFormatException($"{Source}: initializer '{n}' is stored in an external file, which is not supported.");
        long count = 1;
        foreach (var d in t.Dims)
        {
            if (d < 0) throw new OnnxFormatException($"{Source}: initializer '{n}' has a negative dimension {d}.");
            if (d != 0 && count > Limits.MaxTensorBytes / sizeof(float) / d)
                throw new OnnxFormatException($"{Source}: initializer '{n}' of shape [{string.Join(", ", t.Dims)}] needs more than the {Limits.MaxTensorBytes} bytes allowed for one tensor (LoadLimits.MaxTensorBytes).");
            count *= d;
        }
        float[] values;
        if (t.HasRawData)
        {
            var raw = t.RawData.Span;
            if (raw.Length != count * sizeof(float))
                throw new OnnxFormatException($"{Source}: initializer '{n}' has {raw.Length} bytes of raw data, expected {count * sizeof(float)} for shape [{string.Join(", ", t.Dims)}].");
            values = new float[count];
            // ONNX raw data is little-endian.
            for (int i = 0; i < values.Length; i++)
                values[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
        }
        else
        {
            if (t.FloatData.Count != count)
                throw new OnnxFormatException($"{Source}: initializer '{n}' has {t.FloatData.Count} values, expected {count} for shape [{string.Join(", ", t.Dims)}].");
            values = t.FloatData.ToArray();
        }
        return values;
    }

    /// <summary>A FLOAT initializer as a new tensor of its shape.</summary>
    public Tensor FloatTensor(string name) => torch.tensor(FloatData(name), Shape(name), dtype: ScalarType.Float32);

    /// <summary>The nodes that consume <paramref name="valueName"/>, in graph order.</summary>
    public IReadOnlyList<NodeProto> Consumers(string valueName) => Graph.Node.Where(n => n.Input.Contains(valueName)).ToList();

    /// <summary>Checks that every node uses only the given operators, naming the first one that does not.</summary>
    public void RequireOps(params string[] allowed)
    {
        foreach (var n in Graph.Node)
            if ((n.Domain is not ("" or "ai.onnx")) || !allowed.Contains(n.OpType))
                throw new OnnxFormatException(
                    $"{Source}: unexpected operator '{Name((n.Domain is "" ? "" : n.Domain + ".") + n.OpType)}' in node '{Name(n.Name)}' (output {Name(n.Output.FirstOrDefault())}); expected only {string.Join(", ", allowed)}.");
    }

    /// <summary>Writes the model (e.g. after editing <see cref="Proto"/>) to a file.</summary>
    public void Save(string path) => File.WriteAllBytes(path, Proto.ToByteArray());

    /// <summary>A deep copy whose proto can be edited without touching this one.</summary>
    public OnnxModel Clone() => new(Proto.Clone(), Source, Limits);
}

/// <summary>Checked access to a node's attributes.</summary>
public static class OnnxNodeExtensions
{
    public static AttributeProto? Attribute(this NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name);

    public static long[] Ints(this NodeProto node, string name, long[]? fallback = null)
    {
        var a = node.Attribute(name);
        if (a is null)
            return fallback ?? throw new OnnxFormatException($"node '{OnnxModel.Name(node.Name)}' ({OnnxModel.Name(node.OpType)}) has no attribute '{name}'.");
        return a.Ints.ToArray();
    }

    public static long Int(this NodeProto node, string name, long fallback) =>
        node.Attribute(name) is { } a ? a.I : fallback;

    public static float Float(this NodeProto node, string name, float fallback) =>
        node.Attribute(name) is { } a ? a.F : fallback;

    public static string String(this NodeProto node, string name, string fallback) =>
        node.Attribute(name) is { } a ? a.S.ToStringUtf8() : fallback;
}
