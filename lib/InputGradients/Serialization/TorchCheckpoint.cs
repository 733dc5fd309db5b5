using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Serialization;

/// <summary>
/// Reads PyTorch checkpoints (<c>torch.save</c>) without executing anything from the file: the pickle is read by
/// <see cref="RestrictedUnpickler"/>, which accepts only data and a short allow-list of torch's tensor-rebuilding
/// globals, rebuilt here in C#. Supports the zip format (default since PyTorch 1.6: <c>&lt;name&gt;/data.pkl</c>,
/// <c>&lt;name&gt;/data/&lt;key&gt;</c>, optional <c>byteorder</c>) and the older single-stream format; tensors may be
/// views (offsets, strides) of shared storages in float32/64, float16, bfloat16 and integer/bool types.
/// <para>Every size in the file is checked before anything is allocated: storages against the archive and
/// <see cref="LoadLimits.MaxTensorBytes"/>/<see cref="LoadLimits.MaxTotalBytes"/>, compressed entries against
/// <see cref="LoadLimits.MaxCompressionRatio"/>, each materialised view (a view may repeat its storage's elements)
/// and their total against the same byte limits. Shared and cyclic references are followed once each, without
/// recursion; nesting deeper than <see cref="LoadLimits.MaxNestingDepth"/> is refused.</para>
/// </summary>
public static class TorchCheckpoint
{
    private const string RebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
    private const string RebuildTensor = "torch._utils._rebuild_tensor";
    private const string RebuildParameter = "torch._utils._rebuild_parameter";
    private const string RebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";
    private const string OrderedDictName = "collections.OrderedDict";

    /// <summary>Everything a checkpoint may name. Storage classes are only accepted inside persistent ids.</summary>
    public static readonly IReadOnlySet<string> AllowedGlobals = new HashSet<string>(
        new[] { OrderedDictName, RebuildTensorV2, RebuildTensor, RebuildParameter, RebuildParameterWithState }
            .Concat(TensorDTypes.StorageTypes.Keys.Select(k => "torch." + k))
            .Concat(TensorDTypes.StorageTypes.Keys.Select(k => "torch.cuda." + k)));

    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");
    private const long LegacyProtocolVersion = 1001;

    /// <summary>Text from the file (entry names, storage keys, messages quoting them), safe to print.</summary>
    private static string S(string? text, int max = 120) => InvalidFileException.Sanitize(text, max);

    private sealed record StorageRecord(string Key, ScalarType DType, long Numel);

    private sealed record TensorRecord(StorageRecord Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>Reads a checkpoint's whole object tree: dicts become <see cref="PickleDict"/>, lists
    /// <c>List&lt;object?&gt;</c>, tuples <c>object?[]</c>, tensors <see cref="Tensor"/> (owned by the caller).</summary>
    public static object? Load(string path, LoadLimits? limits = null)
    {
        limits ??= LoadLimits.Default;
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        Span<byte> head = stackalloc byte[4];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return LoadZip(path, limits);
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return LoadLegacy(path, limits);
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
            throw new CheckpointFormatException(path, "this is a gzip file, not a PyTorch checkpoint; unpack it first");
        throw new CheckpointFormatException(path, n < 4
            ? "the file is too short to be a PyTorch checkpoint"
            : "not a PyTorch checkpoint: it is neither a zip archive (torch.save since PyTorch 1.6) nor a legacy pickle stream");
    }

    /// <summary>Reads the state dict of a checkpoint: the top-level dict of tensors, or the one under a key such as
    /// <c>state_dict</c> or <c>model</c> when the file holds a training checkpoint.</summary>
    public static StateDict LoadStateDict(string path, LoadLimits? limits = null)
    {
        using var scope = torch.NewDisposeScope();
        var root = Load(path, limits);
        var dict = FindStateDict(root, path);
        var result = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in dict.Items)
        {
            var t = (Tensor)v!;
            result[(string)k] = t.MoveToOuterDisposeScope();
        }
        return new StateDict(result, path);
    }

    private static PickleDict FindStateDict(object? root, string path)
    {
        static bool IsTensorDict(object? o) => o is PickleDict d && d.Items.All(kv => kv.Key is string && kv.Value is Tensor);
        if (IsTensorDict(root)) return (PickleDict)root!;
        if (root is PickleDict top)
        {
            foreach (var key in new[] { "state_dict", "model_state_dict", "model", "net", "module" })
                if (top.Items.TryGetValue(key, out var inner) && IsTensorDict(inner)) return (PickleDict)inner!;
            throw new CheckpointFormatException(path,
                $"the checkpoint is a dict but not a state dict of tensors, and none of its keys (state_dict, model_state_dict, model, net, module) holds one; its keys are: {string.Join(", ", top.Items.Keys.Take(20).Select(k => InvalidFileException.Sanitize(k.ToString(), 60)))}");
        }
        throw new CheckpointFormatException(path, $"the checkpoint holds a {RestrictedUnpickler.Describe(root)}, not a state dict (a dict of name -> tensor)");
    }

    // ---- zip format ----

    private static object? LoadZip(string path, LoadLimits limits)
    {
        ZipArchive zip;
        FileStream fs = File.OpenRead(path);
        long fileLength = fs.Length;
        // The central directory is read lazily, on the first use of Entries: read it here so damage is reported as such.
        try { zip = new ZipArchive(fs, ZipArchiveMode.Read); _ = zip.Entries.Count; }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            fs.Dispose();
            throw new CheckpointFormatException(path, $"the zip archive is damaged or truncated ({S(e.Message, 200)})", e);
        }
        using (zip)
        {
            var pkl = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pkl.Count != 1)
            {
                if (zip.Entries.Any(e => e.FullName.EndsWith("/constants.pkl", StringComparison.Ordinal)))
                    throw new CheckpointFormatException(path, "this is a TorchScript archive (torch.jit.save); save the model's state_dict() with torch.save instead");
                throw new CheckpointFormatException(path, pkl.Count == 0
                    ? "the zip archive has no <name>/data.pkl, so it is not a torch.save checkpoint"
                    : "the zip archive has more than one <name>/data.pkl");
            }
            var root = pkl[0].FullName[..^"data.pkl".Length];
            var byteorder = zip.GetEntry(root + "byteorder");
            if (byteorder is not null)
            {
                var order = Encoding.ASCII.GetString(ReadEntry(byteorder, path, 16, fileLength, limits)).Trim();
                if (order != "little") throw new CheckpointFormatException(path, $"tensors are stored with byte order '{InvalidFileException.Sanitize(order, 16)}'; only little-endian checkpoints are supported");
            }

            var bytes = ReadEntry(pkl[0], path, Math.Min(1L << 30, limits.MaxTensorBytes), fileLength, limits);
            var storages = new Dictionary<string, StorageRecord>();
            var unpickler = new RestrictedUnpickler(bytes, path, AllowedGlobals, (g, a) => Reduce(g, a, path),
                pid => PersistentLoad(pid, storages, path, legacy: false));
            var tree = unpickler.Load();

            // Every storage's size is checked against the archive and the limits before the first is allocated.
            var entries = new Dictionary<string, ZipArchiveEntry>();
            long totalBytes = 0;
            foreach (var s in storages.Values)
            {
                var entry = zip.GetEntry(root + "data/" + s.Key)
                    ?? throw new CheckpointFormatException(path, $"storage '{S(s.Key)}' is named in data.pkl but {S(root)}data/{S(s.Key)} is missing from the archive");
                long expected = StorageBytes(s, path, limits);
                if (entry.Length != expected)
                    throw new CheckpointFormatException(path, $"storage '{S(s.Key)}' should hold {s.Numel} {s.DType} values ({expected} bytes) but {S(entry.FullName)} has {entry.Length} bytes");
                CheckEntrySize(entry, path, fileLength, limits);
                totalBytes += expected;
                if (totalBytes > limits.MaxTotalBytes)
                    throw new CheckpointFormatException(path, $"the storages add up to more than {limits.MaxTotalBytes} bytes, the limit (LoadLimits.MaxTotalBytes)");
                entries[s.Key] = entry;
            }

            var tensors = new Dictionary<string, Tensor>();
            try
            {
                foreach (var s in storages.Values)
                {
                    var entry = entries[s.Key];
                    var t = torch.empty(s.Numel, dtype: s.DType);
                    tensors[s.Key] = t;
                    try
                    {
                        using var es = entry.Open();
                        es.ReadExactly(t.bytes);
                    }
                    catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or NotSupportedException)
                    {
                        throw new CheckpointFormatException(path, $"cannot read storage {S(entry.FullName)}: {S(e.Message, 200)}", e);
                    }
                }
                return Materialize(tree, tensors, path, limits);
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
    }

    /// <summary>Bytes of a storage, refused above <see cref="LoadLimits.MaxTensorBytes"/>.</summary>
    private static long StorageBytes(StorageRecord s, string path, LoadLimits limits)
    {
        long size = TensorDTypes.ElementSize(s.DType);
        if (s.Numel > limits.MaxTensorBytes / size)
            throw new CheckpointFormatException(path, $"storage '{S(s.Key)}' claims {s.Numel} {s.DType} values, more than the {limits.MaxTensorBytes} bytes allowed for one tensor (LoadLimits.MaxTensorBytes)");
        return s.Numel * size;
    }

    // Sizes in a zip's directory are claims until read: refuse what the file cannot hold or no sane compression gives.
    private static void CheckEntrySize(ZipArchiveEntry e, string path, long fileLength, LoadLimits limits)
    {
        if (e.CompressedLength > fileLength)
            throw new CheckpointFormatException(path, $"{S(e.FullName)} claims {e.CompressedLength} compressed bytes but the file has only {fileLength}; the file is damaged");
        if (!limits.AllowsExpansion(e.Length, e.CompressedLength))
            throw new CheckpointFormatException(path, $"{S(e.FullName)} expands {e.CompressedLength} compressed bytes to {e.Length}, more than {limits.MaxCompressionRatio} to 1 (LoadLimits.MaxCompressionRatio); refused as a possible zip bomb");
    }

    private static byte[] ReadEntry(ZipArchiveEntry e, string path, long max, long fileLength, LoadLimits limits)
    {
        if (e.Length > max) throw new CheckpointFormatException(path, $"{S(e.FullName)} is {e.Length} bytes, more than the {max} allowed");
        CheckEntrySize(e, path, fileLength, limits);
        try
        {
            using var s = e.Open();
            var buf = new byte[e.Length];
            s.ReadExactly(buf);
            return buf;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or NotSupportedException)
        {
            throw new CheckpointFormatException(path, $"cannot read {S(e.FullName)}: {S(ex.Message, 200)}", ex);
        }
    }

    // ---- legacy format (before PyTorch 1.6, or _use_new_zipfile_serialization=False) ----

    private static object? LoadLegacy(string path, LoadLimits limits)
    {
        var bytes = File.ReadAllBytes(path);
        var none = new HashSet<string>();
        object? Next(ref int pos, IReadOnlySet<string> globals, Func<object?, object?>? pid)
        {
            var u = new RestrictedUnpickler(bytes, path, globals, (g, a) => Reduce(g, a, path), pid, pos);
            var v = u.Load();
            pos = u.Position;
            return v;
        }
        int pos = 0;
        var magic = Next(ref pos, none, null);
        if (magic is not BigInteger m || m != LegacyMagic)
            throw new CheckpointFormatException(path, "the file starts with a pickle but not with PyTorch's magic number, so it is not a PyTorch checkpoint");
        var version = Next(ref pos, none, null);
        if (version is not long v || v != LegacyProtocolVersion)
            throw new CheckpointFormatException(path, $"unsupported legacy checkpoint protocol version {InvalidFileException.Sanitize(version?.ToString(), 40)}");
        var sysInfo = Next(ref pos, none, null) as PickleDict;
        if (sysInfo is not null && sysInfo.Items.TryGetValue("little_endian", out var le) && le is false)
            throw new CheckpointFormatException(path, "the checkpoint was written on a big-endian machine; only little-endian checkpoints are supported");

        var storages = new Dictionary<string, StorageRecord>();
        var tree = Next(ref pos, AllowedGlobals, pid => PersistentLoad(pid, storages, path, legacy: true));
        var keys = Next(ref pos, none, null) as List<object?>
            ?? throw new CheckpointFormatException(path, "the list of storage keys after the main pickle is missing");

        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var keyObj in keys)
            {
                if (keyObj is not string key || !storages.TryGetValue(key, out var s))
                    throw new CheckpointFormatException(path, $"storage key {InvalidFileException.Sanitize(keyObj?.ToString(), 40)} is listed but never used");
                if (pos + 8 > bytes.Length) throw new CheckpointFormatException(path, $"the file ends before storage '{key}'; it is truncated");
                long numel = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(pos, 8));
                pos += 8;
                if (numel != s.Numel) throw new CheckpointFormatException(path, $"storage '{key}' has {numel} values in the data section but {s.Numel} in the pickle");
                long n = StorageBytes(s, path, limits);
                if (n > bytes.Length - pos) throw new CheckpointFormatException(path, $"the file ends inside storage '{key}'; it is truncated");
                var t = torch.empty(numel, dtype: s.DType);
                tensors[key] = t;
                bytes.AsSpan(pos, (int)n).CopyTo(t.bytes);
                pos += (int)n;
            }
            return Materialize(tree, tensors, path, limits);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    // ---- the allowed globals, rebuilt as data ----

    private static object? PersistentLoad(object? pid, Dictionary<string, StorageRecord> storages, string path, bool legacy)
    {
        if (pid is not object?[] t || t.Length < 5 || t[0] is not "storage")
            throw new CheckpointFormatException(path, $"unsupported persistent id {RestrictedUnpickler.Describe(pid)}; only ('storage', type, key, location, size) is understood. Nothing from the file was executed.");
        if (t[1] is not PickleGlobal g || !TensorDTypes.StorageTypes.TryGetValue(g.Name, out var dtype) || !(g.Module is "torch" or "torch.cuda"))
            throw new CheckpointFormatException(path, $"unsupported storage type {InvalidFileException.Sanitize(t[1]?.ToString(), 60)}");
        if (t[2] is not string key || key.Contains('/') || key.Contains('\\') || key.Contains(".."))
            throw new CheckpointFormatException(path, $"invalid storage key {InvalidFileException.Sanitize(t[2]?.ToString(), 60)}");
        if (t[4] is not long numel || numel < 0) throw new CheckpointFormatException(path, $"invalid storage size {InvalidFileException.Sanitize(t[4]?.ToString(), 40)}");
        if (t.Length > 5 && t[5] is not null)
            throw new CheckpointFormatException(path, "legacy storage views (view_metadata) are not supported; re-save the checkpoint with a recent PyTorch");
        if (storages.TryGetValue(key, out var existing))
        {
            if (existing.DType != dtype || existing.Numel != numel)
                throw new CheckpointFormatException(path, $"storage '{key}' is used with two different types or sizes");
            return existing;
        }
        return storages[key] = new StorageRecord(key, dtype, numel);
    }

    private static object? Reduce(PickleGlobal g, object?[] args, string path)
    {
        switch (g.ToString())
        {
            case OrderedDictName:
                {
                    var d = new PickleDict();
                    if (args.Length == 0) return d;
                    if (args.Length == 1 && args[0] is List<object?> pairs)
                    {
                        foreach (var p in pairs)
                            if (p is object?[] { Length: 2 } kv && kv[0] is not null) d.Items[kv[0]!] = kv[1];
                            else throw new InvalidDataException("OrderedDict items must be (key, value) pairs");
                        return d;
                    }
                    throw new InvalidDataException("unsupported OrderedDict arguments");
                }
            case RebuildTensorV2:
            case RebuildTensor:
                {
                    if (args.Length < 4 || args[0] is not StorageRecord s)
                        throw new InvalidDataException("expected (storage, storage_offset, size, stride, ...)");
                    var offset = args[1] as long? ?? throw new InvalidDataException("storage_offset is not an int");
                    var size = Longs(args[2], "size");
                    var stride = Longs(args[3], "stride");
                    if (size.Length != stride.Length) throw new InvalidDataException($"size has {size.Length} dimensions but stride {stride.Length}");
                    CheckBounds(s, offset, size, stride);
                    return new TensorRecord(s, offset, size, stride);
                }
            case RebuildParameter:
            case RebuildParameterWithState:
                if (args.Length < 1 || args[0] is not TensorRecord tr) throw new InvalidDataException("expected (tensor, requires_grad, hooks)");
                return tr;
            default:
                throw new CheckpointFormatException(path, $"the global {g} may only appear as a storage type, not be called. Nothing from the file was executed.");
        }
    }

    /// <summary>More dimensions than any PyTorch tensor has (libtorch itself stops at 64).</summary>
    private const int MaxDims = 64;

    private static long[] Longs(object? o, string what)
    {
        if (o is not object?[] t) throw new InvalidDataException($"{what} is not a tuple");
        if (t.Length > MaxDims) throw new InvalidDataException($"{what} has {t.Length} dimensions, more than {MaxDims}");
        return t.Select(x => x switch
        {
            long l => l,
            BigInteger b => throw new InvalidDataException($"{what} has an entry {(b.GetBitLength() > 100 ? "of " + b.GetBitLength() + " bits" : b.ToString())}, too large for a 64-bit size"),
            _ => throw new InvalidDataException($"{what} has an entry that is a {RestrictedUnpickler.Describe(x)}, not an integer"),
        }).ToArray();
    }

    private static void CheckBounds(StorageRecord s, long offset, long[] size, long[] stride)
    {
        if (offset < 0) throw new InvalidDataException($"negative storage offset {offset}");
        long numel = TensorDTypes.Numel(size);
        if (numel == 0) return;
        long last = offset;
        for (int i = 0; i < size.Length; i++)
        {
            if (stride[i] < 0) throw new InvalidDataException($"negative stride {stride[i]}");
            try { last = checked(last + (size[i] - 1) * stride[i]); }
            catch (OverflowException) { last = long.MaxValue; break; }
        }
        if (last >= s.Numel)
            throw new InvalidDataException($"a tensor of size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}], offset {offset} reaches element {(last == long.MaxValue ? "2^63 or beyond" : last.ToString())} of storage '{S(s.Key)}', which has only {s.Numel}");
    }

    /// <summary>
    /// Replaces tensor records by tensors throughout the tree, iteratively: each container is visited once however
    /// many times it is referenced (so shared references cost nothing and cycles end), and a tree nested deeper than
    /// <see cref="LoadLimits.MaxNestingDepth"/> is refused. Every view becomes its own tensor, so the byte limits
    /// count each one.
    /// </summary>
    private static object? Materialize(object? root, Dictionary<string, Tensor> storages, string path, LoadLimits limits)
    {
        var mapped = new Dictionary<object, object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(object Node, object Target, int Depth)>();
        var made = new List<Tensor>();
        long total = 0;

        object? Map(object? node, int depth)
        {
            switch (node)
            {
                case TensorRecord r:
                    {
                        var storage = storages.TryGetValue(r.Storage.Key, out var st) ? st
                            : throw new CheckpointFormatException(path, $"storage '{S(r.Storage.Key)}' has no data");
                        long numel = TensorDTypes.Numel(r.Size);
                        long size = TensorDTypes.ElementSize(r.Storage.DType);
                        // A view may repeat its storage's elements (stride 0), so it can be far larger than its storage.
                        if (numel > limits.MaxTensorBytes / size)
                            throw new CheckpointFormatException(path, $"a tensor of size [{string.Join(", ", r.Size)}] of {r.Storage.DType} would take more than the {limits.MaxTensorBytes} bytes allowed for one tensor (LoadLimits.MaxTensorBytes)");
                        total += numel * size;
                        if (total > limits.MaxTotalBytes)
                            throw new CheckpointFormatException(path, $"the checkpoint's tensors add up to more than {limits.MaxTotalBytes} bytes, the limit (LoadLimits.MaxTotalBytes)");
                        Tensor t;
                        if (numel == 0) t = torch.empty(r.Size, dtype: r.Storage.DType);
                        else
                        {
                            using var view = storage.as_strided(r.Size, r.Stride, r.Offset);
                            // A fresh contiguous copy: tensors never share memory with each other or with the file's storages.
                            t = view.is_contiguous() ? view.clone() : view.contiguous();
                        }
                        made.Add(t);
                        return t;
                    }
                case StorageRecord:
                    throw new CheckpointFormatException(path, "the checkpoint holds a bare storage, not tensors");
                case PickleDict or List<object?> or object?[]:
                    {
                        if (mapped.TryGetValue(node, out var done)) return done;
                        if (depth > limits.MaxNestingDepth)
                            throw new CheckpointFormatException(path, $"containers are nested more than {limits.MaxNestingDepth} deep (LoadLimits.MaxNestingDepth)");
                        // Dicts and lists are filled in place; tuples get a copy, registered before its items so a cycle through it ends.
                        object target = node is object?[] a ? new object?[a.Length] : node;
                        mapped[node] = target;
                        pending.Push((node, target, depth));
                        return target;
                    }
                default:
                    return node;
            }
        }

        try
        {
            var result = Map(root, 1);
            while (pending.Count > 0)
            {
                var (node, target, depth) = pending.Pop();
                switch (node)
                {
                    case PickleDict d:
                        foreach (var k in d.Items.Keys.ToList()) d.Items[k] = Map(d.Items[k], depth + 1);
                        break;
                    case List<object?> l:
                        for (int i = 0; i < l.Count; i++) l[i] = Map(l[i], depth + 1);
                        break;
                    case object?[] a:
                        var copy = (object?[])target;
                        for (int i = 0; i < a.Length; i++) copy[i] = Map(a[i], depth + 1);
                        break;
                }
            }
            return result;
        }
        catch
        {
            foreach (var t in made) t.Dispose();
            throw;
        }
    }
}
