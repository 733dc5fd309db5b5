using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Serialization;

/// <summary>
/// Checks a file in TorchSharp's own weight format (what <c>Module.save</c> writes) against the module it is meant
/// for, before <c>Module.load</c> reads it. TorchSharp's reader trusts the file: it allocates an array of whatever
/// rank the file states and only then compares shapes, and it reports a damaged file as an end-of-stream or a
/// mismatch deep inside. This walk reads nothing but integers and names, checks each against the module's own state
/// dict and the file's length, and stops at the first problem with one line naming the file.
/// <para>Format (TorchSharp <c>Module.save</c>): the entry count (LEB128); per entry the name (.NET
/// <c>BinaryWriter.Write(string)</c>: 7-bit length prefix, UTF-8), the dtype code, the rank and each dimension (LEB128),
/// then the raw data, little-endian, numel x element size bytes.</para>
/// </summary>
public static class TorchSharpWeights
{
    /// <summary>
    /// Throws <see cref="CheckpointFormatException"/> unless <paramref name="path"/> holds exactly the entries of
    /// <paramref name="module"/>'s state dict (same names, dtypes and shapes, each once, nothing after the last).
    /// </summary>
    public static void Validate(string path, nn.Module module, LoadLimits? limits = null)
    {
        limits ??= LoadLimits.Default;
        var expected = new Dictionary<string, (ScalarType DType, long[] Shape)>(StringComparer.Ordinal);
        foreach (var (name, t) in module.state_dict()) expected[name] = (t.dtype, t.shape);

        using var stream = File.OpenRead(path);
        long length = stream.Length;
        if (length > limits.MaxTotalBytes)
            throw new CheckpointFormatException(path, $"the file has {length} bytes, more than the {limits.MaxTotalBytes} allowed (LoadLimits.MaxTotalBytes)");
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        string Fail(string what) => throw new CheckpointFormatException(path, what);

        long ReadLeb(string what)
        {
            long value = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (stream.Position >= length) Fail($"the file ends inside the {what}");
                if (shift > 56) Fail($"the {what} is not a valid number");
                int b = stream.ReadByte();
                value |= (long)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return value;
            }
        }

        long count = ReadLeb("entry count");
        if (count != expected.Count)
            Fail($"holds {count} entries, but {module.GetType().Name} has {expected.Count} (not weights for this model?)");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < count; i++)
        {
            long nameLength = ReadLeb($"length of entry {i}'s name");
            if (nameLength > 1024 || stream.Position + nameLength > length)
                Fail($"entry {i}'s name is {nameLength} bytes long, past the end of the file or longer than any parameter name");
            var nameBytes = reader.ReadBytes((int)nameLength);
            string name;
            try { name = new System.Text.UTF8Encoding(false, true).GetString(nameBytes); }
            catch (System.Text.DecoderFallbackException) { name = Fail($"entry {i}'s name is not valid UTF-8"); }
            if (!expected.TryGetValue(name, out var want))
                Fail($"entry {i} is '{InvalidFileException.Sanitize(name)}', which {module.GetType().Name} does not have");
            if (!seen.Add(name)) Fail($"'{InvalidFileException.Sanitize(name)}' appears twice");

            long dtype = ReadLeb($"dtype of '{name}'");
            if (dtype != (long)want.DType)
                Fail($"'{name}' has dtype code {dtype}, the model expects {want.DType} ({(long)want.DType})");
            long rank = ReadLeb($"rank of '{name}'");
            if (rank != want.Shape.Length)
                Fail($"'{name}' has {rank} dimensions, the model expects {want.Shape.Length}");
            var shape = new long[rank];
            for (int d = 0; d < rank; d++) shape[d] = ReadLeb($"shape of '{name}'");
            if (!shape.SequenceEqual(want.Shape))
                Fail($"'{name}' has shape [{string.Join(", ", shape)}], the model expects [{string.Join(", ", want.Shape)}]");
            long bytes = want.Shape.Aggregate(1L, (a, b) => a * b) * ElementSize(want.DType);
            if (stream.Position + bytes > length)
                Fail($"the file ends inside the data of '{name}' (truncated?)");
            stream.Seek(bytes, SeekOrigin.Current);
        }
        if (stream.Position != length)
            Fail($"{length - stream.Position} bytes follow the last entry (damaged, or not a TorchSharp weights file)");
    }

    static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new NotSupportedException($"element size of {t}"),
    };
}
