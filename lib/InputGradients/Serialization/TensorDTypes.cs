using static TorchSharp.torch;

namespace InputGradients.Serialization;

/// <summary>Element types that checkpoints may hold, with their byte sizes (all little-endian).</summary>
internal static class TensorDTypes
{
    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"element type {t} is not supported"),
    };

    /// <summary>torch's legacy storage class names, as they appear in pickled checkpoints.</summary>
    public static readonly IReadOnlyDictionary<string, ScalarType> StorageTypes = new Dictionary<string, ScalarType>
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    /// <summary>safetensors dtype codes.</summary>
    public static readonly IReadOnlyDictionary<string, ScalarType> SafeTensors = new Dictionary<string, ScalarType>
    {
        ["F64"] = ScalarType.Float64,
        ["F32"] = ScalarType.Float32,
        ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64,
        ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16,
        ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte,
        ["BOOL"] = ScalarType.Bool,
    };

    public static string SafeTensorsCode(ScalarType t) =>
        SafeTensors.FirstOrDefault(kv => kv.Value == t).Key
        ?? throw new NotSupportedException($"element type {t} has no safetensors code here");

    /// <summary>numel of a shape, refusing negative sizes and overflow.</summary>
    public static long Numel(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new InvalidDataException($"negative size {s} in shape [{string.Join(", ", shape)}]");
            n = checked(n * s);
        }
        return n;
    }
}
