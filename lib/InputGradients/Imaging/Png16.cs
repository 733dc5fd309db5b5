using System.IO.Compression;
using InputGradients.Core;

namespace InputGradients.Imaging;

/// <summary>
/// Decoder for 16-bit PNGs, written from the PNG specification (ISO/IEC 15948): Skia only decodes them to 8 bits
/// or half floats. Handles colour types 0 (grey), 2 (RGB), 4 (grey+alpha), 6 (RGBA), the five scanline filters
/// and Adam7 interlacing; the tRNS chunk (one transparent colour) is ignored. Returns samples on 0-65535 as
/// (H, W, 4) RGBA, grey expanded to three channels, alpha 65535 when absent. The size is checked against
/// <see cref="LoadLimits.MaxPixels"/> before anything is inflated, and only the bytes that size needs are inflated.
/// </summary>
static class Png16
{
    public static (int Height, int Width, ushort[] Rgba, bool HasAlpha) Decode(byte[] png, string name, LoadLimits limits)
    {
        int pos = 8, width = 0, height = 0, colorType = -1, interlace = 0;
        bool header = false;
        var idat = new MemoryStream();
        while (pos + 8 <= png.Length)
        {
            int len = (int)ReadBE(png, pos);
            // Chunk types are four ASCII letters; anything else is shown as '?' (never raw bytes in a message).
            string type = new string(png.AsSpan(pos + 4, 4).ToArray().Select(b => b is >= (byte)'A' and <= (byte)'z' && char.IsLetter((char)b) ? (char)b : '?').ToArray());
            if (len < 0 || pos + 12 + (long)len > png.Length)
                throw new InvalidDataException($"{name}: PNG chunk '{type}' runs past the end of the file: the file is truncated");
            if (type == "IHDR")
            {
                if (header) throw new InvalidDataException($"{name}: the PNG has two IHDR (header) chunks; the file is damaged");
                if (pos != 8) throw new InvalidDataException($"{name}: the PNG's IHDR (header) chunk is not its first chunk; the file is damaged");
                if (len != 13) throw new InvalidDataException($"{name}: the PNG's IHDR (header) chunk has {len} bytes instead of 13; the file is damaged");
                header = true;
                // Sizes are at most 2^31 - 1 (PNG specification); a larger one reads as negative and is refused below.
                width = (int)ReadBE(png, pos + 8);
                height = (int)ReadBE(png, pos + 12);
                if (png[pos + 16] != 16) throw new InvalidDataException($"{name}: the PNG header gives bit depth {png[pos + 16]}, but the file was taken for a 16-bit PNG; the file is damaged");
                colorType = png[pos + 17];
                interlace = png[pos + 20];
            }
            else if (type == "IDAT") idat.Write(png, pos + 8, len);
            else if (type == "IEND") break;
            pos += 12 + len;
        }
        int channels = colorType switch
        {
            0 => 1, 2 => 3, 4 => 2, 6 => 4,
            _ => throw new InvalidDataException($"{name}: 16-bit PNG with invalid colour type {colorType}"),
        };
        if (width <= 0 || height <= 0) throw new InvalidDataException($"{name}: PNG has an impossible size {width}x{height}");
        ImageIO.CheckPixels(name, width, height, limits, "image");

        // Adam7 passes: (x0, y0, dx, dy); a non-interlaced image is one pass over everything.
        (int X0, int Y0, int Dx, int Dy)[] passes = interlace == 1
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)];
        int bpp = channels * 2, offset = 0;
        long needed = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            long pw = (width - x0 + dx - 1) / dx, ph = (height - y0 + dy - 1) / dy;
            if (pw > 0 && ph > 0) needed += ph * (1 + pw * bpp);
        }
        if (needed > Array.MaxLength)
            throw new InvalidDataException($"{name}: a 16-bit PNG of {width}x{height} needs {needed} bytes of image data, more than one array holds");

        // Inflate only what the size needs: extra data cannot cost memory or time.
        var raw = new byte[needed];
        int got;
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            got = z.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        }
        // zlib error codes (e.g. a stream that asks for a preset dictionary) come as an IOException (the internal
        // ZLibException); the source is in memory, so no IOException here is about the disk.
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new InvalidDataException($"{name}: corrupt PNG image data ({e.Message})", e);
        }
        if (got < raw.Length)
            throw new InvalidDataException($"{name}: PNG image data ends early: the file is truncated");

        var rgba = new ushort[(long)height * width * 4];
        foreach (var (x0, y0, dx, dy) in passes)
        {
            int pw = (width - x0 + dx - 1) / dx, ph = (height - y0 + dy - 1) / dy;
            if (pw <= 0 || ph <= 0) continue;
            int stride = pw * bpp;
            var prev = new byte[stride];
            var line = new byte[stride];
            for (int r = 0; r < ph; r++)
            {
                if (offset + 1 + stride > raw.Length)
                    throw new InvalidDataException($"{name}: PNG image data ends early: the file is truncated");
                int filter = raw[offset];
                Array.Copy(raw, offset + 1, line, 0, stride);
                offset += 1 + stride;
                Unfilter(filter, line, prev, bpp, name);
                int y = y0 + r * dy;
                for (int c = 0; c < pw; c++)
                {
                    int x = x0 + c * dx;
                    long o = ((long)y * width + x) * 4;
                    ushort S(int k) => (ushort)(line[c * bpp + 2 * k] << 8 | line[c * bpp + 2 * k + 1]);
                    switch (channels)
                    {
                        case 1: rgba[o] = rgba[o + 1] = rgba[o + 2] = S(0); rgba[o + 3] = 65535; break;
                        case 2: rgba[o] = rgba[o + 1] = rgba[o + 2] = S(0); rgba[o + 3] = S(1); break;
                        case 3: rgba[o] = S(0); rgba[o + 1] = S(1); rgba[o + 2] = S(2); rgba[o + 3] = 65535; break;
                        default: rgba[o] = S(0); rgba[o + 1] = S(1); rgba[o + 2] = S(2); rgba[o + 3] = S(3); break;
                    }
                }
                (prev, line) = (line, prev);
            }
        }
        return (height, width, rgba, channels is 2 or 4);
    }

    static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// For a file with the PNG signature, checks the chunk layout Skia would only report as "truncated": one IHDR
    /// (header) chunk of 13 bytes, first. Other damage is left to the decoders.
    /// </summary>
    public static void CheckHeader(byte[] png, string name)
    {
        if (png.Length < 8 || !png.AsSpan(0, 8).SequenceEqual(Signature)) return;
        if (png.Length < 33 || ReadBE(png, 8) != 13 || !png.AsSpan(12, 4).SequenceEqual("IHDR"u8))
            throw new InvalidDataException($"{name}: the PNG does not start with its 13-byte IHDR (header) chunk; the file is damaged or truncated");
        for (long pos = 33; pos + 8 <= png.Length;)
        {
            long len = ReadBE(png, (int)pos);
            if (png.AsSpan((int)pos + 4, 4).SequenceEqual("IHDR"u8))
                throw new InvalidDataException($"{name}: the PNG has two IHDR (header) chunks; the file is damaged");
            if (png.AsSpan((int)pos + 4, 4).SequenceEqual("IEND"u8)) break;
            pos += 12 + len;
        }
    }

    static void Unfilter(int filter, byte[] line, byte[] prev, int bpp, string name)
    {
        for (int i = 0; i < line.Length; i++)
        {
            int a = i >= bpp ? line[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
            line[i] = filter switch
            {
                0 => line[i],
                1 => (byte)(line[i] + a),
                2 => (byte)(line[i] + b),
                3 => (byte)(line[i] + (a + b) / 2),
                4 => (byte)(line[i] + Paeth(a, b, c)),
                _ => throw new InvalidDataException($"{name}: PNG scanline filter {filter} is invalid (corrupt data)"),
            };
        }
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    static uint ReadBE(byte[] b, int at) => (uint)(b[at] << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3]);
}
