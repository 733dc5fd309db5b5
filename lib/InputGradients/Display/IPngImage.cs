namespace InputGradients.Display;

/// <summary>Anything that draws itself as a PNG; notebooks show it as image/png.</summary>
public interface IPngImage
{
    byte[] ToPng();
}

/// <summary>PNG bytes made elsewhere (a file, another tool), shown as an image in notebooks.</summary>
public sealed class PngImage(byte[] bytes) : IPngImage
{
    static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public byte[] Bytes { get; } = bytes is { Length: > 8 } && bytes.AsSpan(0, 8).SequenceEqual(Signature)
        ? bytes
        : throw new ArgumentException("Not PNG data (missing the PNG signature).", nameof(bytes));

    public static PngImage FromFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"PNG file not found: {path}", path);
        try { return new PngImage(File.ReadAllBytes(path)); }
        catch (ArgumentException e) { throw new ArgumentException($"{path}: {e.Message}", nameof(path)); }
    }

    public byte[] ToPng() => Bytes;

    public override string ToString() => $"PNG image, {Bytes.Length} bytes";
}
