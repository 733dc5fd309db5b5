using System.IO.Compression;

namespace InputGradients.Tests.Imaging;

/// <summary>
/// A minimal PNG writer written from the PNG specification (signature, IHDR, one zlib IDAT, IEND, CRC-32),
/// so the loader's tests make files whose exact pixel values are known without going through SkiaSharp.
/// Colour types: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA; bit depth 8 or 16 (big-endian samples).
/// </summary>
static class PngWriter
{
    public static byte[] Encode(int width, int height, int colorType, int bitDepth, ushort[] samples, byte[]? palette = null)
    {
        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => throw new ArgumentException("colour type") };
        int bytesPerSample = bitDepth / 8;
        if (samples.Length != width * height * channels) throw new ArgumentException("sample count");
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter type None
            for (int i = 0; i < width * channels; i++)
            {
                ushort v = samples[y * width * channels + i];
                if (bytesPerSample == 2) raw.WriteByte((byte)(v >> 8));
                raw.WriteByte((byte)v);
            }
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zs);

        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        WriteBE(ihdr, 0, (uint)width);
        WriteBE(ihdr, 4, (uint)height);
        ihdr[8] = (byte)bitDepth; ihdr[9] = (byte)colorType; // compression, filter, interlace = 0
        Chunk(png, "IHDR", ihdr);
        if (palette is not null) Chunk(png, "PLTE", palette); // colour type 3: RGB triples, samples are indices
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>A PNG of exactly these chunks, after the signature (for hand-made damaged files).</summary>
    public static byte[] Build(params (string Type, byte[] Data)[] chunks)
    {
        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        foreach (var (type, data) in chunks) Chunk(png, type, data);
        return png.ToArray();
    }

    public static byte[] Ihdr(uint width, uint height, int bitDepth, int colorType)
    {
        var ihdr = new byte[13];
        WriteBE(ihdr, 0, width);
        WriteBE(ihdr, 4, height);
        ihdr[8] = (byte)bitDepth; ihdr[9] = (byte)colorType;
        return ihdr;
    }

    public static byte[] Zlib(byte[] raw, CompressionLevel level = CompressionLevel.Optimal)
    {
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, level, leaveOpen: true)) zs.Write(raw);
        return z.ToArray();
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4]; WriteBE(len, 0, (uint)data.Length); s.Write(len);
        var typeAndData = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typeAndData);
        var crc = new byte[4]; WriteBE(crc, 0, Crc32(typeAndData)); s.Write(crc);
    }

    static void WriteBE(byte[] b, int at, uint v)
    {
        b[at] = (byte)(v >> 24); b[at + 1] = (byte)(v >> 16); b[at + 2] = (byte)(v >> 8); b[at + 3] = (byte)v;
    }

    static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFF;
    }
}
