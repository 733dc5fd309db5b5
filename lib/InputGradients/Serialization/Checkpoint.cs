using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Serialization;

/// <summary>What <see cref="Checkpoint.LoadStateDict(nn.Module, string, bool)"/> did.</summary>
/// <param name="Loaded">Names copied into the module.</param>
/// <param name="Missing">Names the module has but the checkpoint lacks (left as they were).</param>
/// <param name="Unexpected">Names the checkpoint has but the module lacks (ignored).</param>
public sealed record LoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);

/// <summary>Loads weights from checkpoint files into TorchSharp modules, by name, like PyTorch's <c>load_state_dict</c>.</summary>
public static class Checkpoint
{
    /// <summary>Reads a .pth/.pt (PyTorch, zip or legacy) or .safetensors file; the format is told by its content.</summary>
    /// <param name="limits">Bounds on what the file may allocate; <see cref="LoadLimits.Default"/> when null.</param>
    public static StateDict Read(string path, LoadLimits? limits = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint not found: {path}", path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return SafeTensors.Load(path, limits);
        Span<byte> head = stackalloc byte[9];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        // safetensors has no magic number; its JSON header starts right after the 8-byte length.
        bool zip = n >= 2 && head[0] == (byte)'P' && head[1] == (byte)'K';
        return !zip && n == 9 && head[8] == (byte)'{' ? SafeTensors.Load(path, limits) : TorchCheckpoint.LoadStateDict(path, limits);
    }

    /// <summary>
    /// Copies the tensors of a checkpoint file into <paramref name="module"/>'s parameters and buffers with the same
    /// names. Shapes must match exactly (else nothing is copied and the error lists every mismatch); values are
    /// converted to the module's dtype and device. With <paramref name="strict"/>, missing or unexpected names are an
    /// error too (nothing copied); without, they are reported in the result. <paramref name="rename"/> maps the
    /// checkpoint's names to the module's first (e.g. <c>n => n.StartsWith("module.") ? n[7..] : n</c> for a model
    /// saved from <c>DataParallel</c>); a name it maps to null is dropped.
    /// </summary>
    public static LoadReport LoadStateDict(nn.Module module, string path, bool strict = true, Func<string, string?>? rename = null)
    {
        using var sd = Read(path);
        return LoadStateDict(module, sd, strict, rename);
    }

    /// <inheritdoc cref="LoadStateDict(nn.Module, string, bool, Func{string, string?}?)"/>
    public static LoadReport LoadStateDict(nn.Module module, IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, Func<string, string?>? rename = null)
    {
        var file = (stateDict as StateDict)?.Source;
        if (rename is not null)
        {
            var renamed = new Dictionary<string, Tensor>();
            foreach (var (k, v) in stateDict)
            {
                var name = rename(k);
                if (name is null) continue;
                if (!renamed.TryAdd(name, v)) throw new CheckpointFormatException(file, $"two checkpoint names are renamed to '{InvalidFileException.Sanitize(name)}'");
            }
            stateDict = renamed;
        }
        var target = module.state_dict();
        var missing = target.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var mismatched = target.Where(kv => stateDict.TryGetValue(kv.Key, out var s) && !s.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{InvalidFileException.Sanitize(kv.Key)}: checkpoint [{string.Join(", ", stateDict[kv.Key].shape)}], model [{string.Join(", ", kv.Value.shape)}]")
            .ToList();
        var problems = new List<string>();
        if (mismatched.Count > 0) problems.Add($"{mismatched.Count} shape mismatch(es): {string.Join("; ", mismatched)}");
        if (strict && missing.Count > 0) problems.Add($"{missing.Count} missing key(s) in the checkpoint: {Short(missing)}");
        if (strict && unexpected.Count > 0) problems.Add($"{unexpected.Count} unexpected key(s) the model does not have: {Short(unexpected)}");
        if (problems.Count > 0)
            throw new CheckpointFormatException(file,
                $"cannot load into {module.GetName()}: {string.Join(". ", problems)}. Nothing was copied.");

        var loaded = new List<string>();
        using (torch.no_grad())
        {
            foreach (var (name, dest) in target)
            {
                if (!stateDict.TryGetValue(name, out var src)) continue;
                dest.copy_(src); // converts dtype and device
                loaded.Add(name);
            }
        }
        return new LoadReport(loaded, missing, unexpected);
    }

    // Names may come from the file: sanitized, so they cannot drive a terminal.
    private static string Short(List<string> names) =>
        names.Count <= 12 ? string.Join(", ", names.Select(n => InvalidFileException.Sanitize(n)))
            : string.Join(", ", names.Take(12).Select(n => InvalidFileException.Sanitize(n))) + $", ... ({names.Count - 12} more)";
}
