namespace InputGradients.Core;

/// <summary>
/// The bounds every reader of outside files (images, IDX, .pth, .safetensors, ONNX) checks sizes read from a file
/// against, before allocating anything. A size is also checked against the file's own length wherever the data must
/// be in the file; these limits bound what a small file may legitimately expand to (compressed data, views that
/// repeat elements). Readers take an optional <see cref="LoadLimits"/>; <see cref="Default"/> is used otherwise.
/// To read something larger, pass <c>LoadLimits.Default with { MaxTensorBytes = ... }</c>.
/// </summary>
public sealed record LoadLimits
{
    /// <summary>The defaults described on each property.</summary>
    public static readonly LoadLimits Default = new();

    /// <summary>Largest image, in pixels (width x height, and each frame of an animation): 100 megapixels, about
    /// what other decoders allow by default (Pillow warns at 89 MP). A 100 MP image is 1.2 GB as a float tensor.</summary>
    public long MaxPixels { get; init; } = 100_000_000;

    /// <summary>Largest single tensor or array a file may produce, in bytes: 2 GiB (the largest torchvision weight,
    /// VGG's first classifier layer, is 411 MB).</summary>
    public long MaxTensorBytes { get; init; } = 2L << 30;

    /// <summary>Largest total of all the tensors one file produces, in bytes: 8 GiB.</summary>
    public long MaxTotalBytes { get; init; } = 8L << 30;

    /// <summary>Deepest nesting of containers (lists, tuples, dicts) in a pickle: 1000, Python's own recursion limit.</summary>
    public int MaxNestingDepth { get; init; } = 1000;

    /// <summary>Largest expansion of compressed data (zip entries, PNG image data, gzip) beyond its compressed size,
    /// for data of more than <see cref="CompressionCheckBytes"/>: 100 to 1 (Apache POI's zip-bomb guard uses the same
    /// ratio). Weights and photos compress far less; deflate can reach about 1000 to 1 only on constant data.</summary>
    public double MaxCompressionRatio { get; init; } = 100;

    /// <summary>Compressed data that expands to at most this many bytes (1 MiB) is not held to
    /// <see cref="MaxCompressionRatio"/>: small constant tensors (zero biases) compress very well and cost nothing.</summary>
    public long CompressionCheckBytes { get; init; } = 1L << 20;

    /// <summary>Whether <paramref name="expanded"/> bytes may come from <paramref name="compressed"/> bytes.</summary>
    public bool AllowsExpansion(long expanded, long compressed) =>
        expanded <= CompressionCheckBytes || expanded <= MaxCompressionRatio * Math.Max(compressed, 1);
}
