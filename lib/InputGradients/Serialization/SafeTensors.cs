using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Serialization;

/// <summary>
/// The safetensors format (written from its published description): an unsigned 64-bit little-endian header
/// length N, N bytes of UTF-8 JSON mapping each tensor name to <c>{"dtype", "shape", "data_offsets": [begin, end]}</c>
/// (offsets relative to the data that follows) plus an optional <c>"__metadata__"</c> string map, then the raw
/// little-endian data. Nothing in it is code; the reader validates every offset, type and shape before reading:
/// names must be unique, each tensor's bytes must fit the file and <see cref="LoadLimits.MaxTensorBytes"/>, and
/// nothing is allocated before the whole header has been checked.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers larger than this are refused (the reference implementation uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

    /// <summary>Reads every tensor of a .safetensors file, in header order.</summary>
    public static StateDict Load(string path, LoadLimits? limits = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        using var fs = File.OpenRead(path);
        var (entries, metadata, dataStart) = ReadHeader(fs, path, limits ?? LoadLimits.Default);
        var result = new OrderedDictionary<string, Tensor>();
        try
        {
            foreach (var e in entries)
            {
                var t = torch.empty(e.Shape, dtype: e.DType);
                result[e.Name] = t;
                if (e.End == e.Begin) continue;
                fs.Position = dataStart + e.Begin;
                try { fs.ReadExactly(t.bytes); }
                catch (EndOfStreamException ex) { throw new CheckpointFormatException(path, $"the file ends inside tensor '{InvalidFileException.Sanitize(e.Name)}'", ex); }
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return new StateDict(result, path, metadata);
    }

    private static (List<Entry>, Dictionary<string, string>, long) ReadHeader(FileStream fs, string path, LoadLimits limits)
    {
        long fileLength = fs.Length;
        if (fileLength < 8) throw new CheckpointFormatException(path, $"the file has {fileLength} bytes, too short for a safetensors header");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (n > (ulong)MaxHeaderBytes) throw new CheckpointFormatException(path, $"the header claims {n} bytes, more than the {MaxHeaderBytes} allowed; this is not a safetensors file or it is damaged");
        if ((long)n > fileLength - 8) throw new CheckpointFormatException(path, $"the header claims {n} bytes but the file has only {fileLength - 8} after the length; the file is truncated or not safetensors");
        var headerBytes = new byte[n];
        fs.ReadExactly(headerBytes);
        long dataStart = 8 + (long)n;
        long dataLength = fileLength - dataStart;

        // Checked first: System.Text.Json would only fail on bad UTF-8 when a name is read, with an unhelpful message.
        if (!Utf8.IsValid(headerBytes))
            throw new CheckpointFormatException(path, "the header is not valid UTF-8 text; the file is damaged or not safetensors");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(headerBytes); }
        catch (JsonException e) { throw new CheckpointFormatException(path, $"the header is not valid JSON ({InvalidFileException.Sanitize(e.Message, 200)})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException(path, "the header is not a JSON object");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            long total = 0;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                // JSON allows a repeated name and most readers keep the last one silently: refuse it instead.
                if (!names.Add(prop.Name))
                    throw new CheckpointFormatException(path, $"the header names '{InvalidFileException.Sanitize(prop.Name)}' twice");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException(path, "__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw new CheckpointFormatException(path, $"__metadata__ value '{InvalidFileException.Sanitize(m.Name)}' is not a string");
                    continue;
                }
                var entry = ParseEntry(prop, path, dataLength, limits);
                total += entry.End - entry.Begin;
                if (total > limits.MaxTotalBytes)
                    throw new CheckpointFormatException(path, $"the tensors add up to more than {limits.MaxTotalBytes} bytes, the limit (LoadLimits.MaxTotalBytes)");
                entries.Add(entry);
            }
            // Tensors may not overlap (the format also forbids holes; we accept them, they are harmless).
            var sorted = entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToList();
            for (int i = 1; i < sorted.Count; i++)
                if (sorted[i].Begin < sorted[i - 1].End)
                    throw new CheckpointFormatException(path, $"tensors '{InvalidFileException.Sanitize(sorted[i - 1].Name)}' and '{InvalidFileException.Sanitize(sorted[i].Name)}' overlap in the data section");
            return (entries, metadata, dataStart);
        }
    }

    /// <summary>More dimensions than any PyTorch tensor has (libtorch itself stops at 64).</summary>
    private const int MaxDims = 64;

    private static Entry ParseEntry(JsonProperty prop, string path, long dataLength, LoadLimits limits)
    {
        string name = prop.Name;
        CheckpointFormatException Bad(string what) => new(path, $"tensor '{InvalidFileException.Sanitize(name)}': {what}");
        static string Json(JsonElement e) => InvalidFileException.Sanitize(e.GetRawText(), 80);
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad("header entry is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad("no dtype");
        if (!TensorDTypes.SafeTensors.TryGetValue(dt.GetString()!, out var dtype))
            throw Bad($"dtype '{InvalidFileException.Sanitize(dt.GetString(), 20)}' is not supported (supported: {string.Join(", ", TensorDTypes.SafeTensors.Keys)})");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad("no shape");
        if (sh.GetArrayLength() > MaxDims) throw Bad($"shape has {sh.GetArrayLength()} dimensions, more than {MaxDims}");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var s) || s < 0) throw Bad($"shape {Json(sh)} has an entry that is not a non-negative integer (64-bit)");
            shape[i++] = s;
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad("data_offsets is not a [begin, end] pair");
        var o = off.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var l) ? l : -1).ToArray();
        long begin = o[0], end = o[1];
        if (begin < 0 || end < begin) throw Bad($"data_offsets {Json(off)} are not 0 <= begin <= end");
        if (end > dataLength) throw Bad($"data_offsets [{begin}, {end}] point outside the data section, which has {dataLength} bytes; the file is truncated or damaged");
        // The product of the non-zero sizes must fit too: libtorch checks it even for an empty tensor.
        long numel = 1, nonZero = 1;
        foreach (var n in shape)
        {
            if (n != 0 && nonZero > long.MaxValue / n) throw Bad($"shape [{string.Join(", ", shape)}] is too large");
            if (n != 0) nonZero *= n;
            numel *= n;
        }
        int size = TensorDTypes.ElementSize(dtype);
        if (numel > limits.MaxTensorBytes / size)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} needs more than the {limits.MaxTensorBytes} bytes allowed for one tensor (LoadLimits.MaxTensorBytes)");
        long expected = numel * size;
        if (end - begin != expected)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes but data_offsets [{begin}, {end}] give {end - begin}");
        return new Entry(name, dtype, shape, begin, end);
    }

    /// <summary>Writes tensors (any device, any layout; copied to contiguous CPU data) to a .safetensors file,
    /// sorted by name, atomically (a temporary file in the same folder, then a rename).</summary>
    public static void Save(IEnumerable<KeyValuePair<string, Tensor>> tensors, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        if (list.Select(kv => kv.Key).Distinct().Count() != list.Count) throw new ArgumentException("tensor names must be unique");
        using var scope = torch.NewDisposeScope();
        var header = new Dictionary<string, object>();
        long offset = 0;
        var data = new List<Tensor>();
        foreach (var (name, t) in list)
        {
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' cannot be a tensor name");
            var c = t.detach().cpu().contiguous();
            long nbytes = c.NumberOfElements * TensorDTypes.ElementSize(c.dtype);
            header[name] = new { dtype = TensorDTypes.SafeTensorsCode(c.dtype), shape = c.shape, data_offsets = new[] { offset, offset + nbytes } };
            offset += nbytes;
            data.Add(c);
        }
        if (metadata is not null && metadata.Count > 0) header["__metadata__"] = metadata;
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        int pad = (8 - json.Length % 8) % 8; // data starts 8-byte aligned
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
                fs.Write(len);
                fs.Write(json);
                for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
                foreach (var c in data)
                    if (c.NumberOfElements > 0) fs.Write(c.bytes);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Writes a module's state dict (parameters and buffers, by name).</summary>
    public static void Save(torch.nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(module.state_dict(), path, metadata);
}
