using System.IO.Compression;

namespace InputGradients.Imaging;

/// <summary>
/// Decoder for 16-bit PNGs, written from the PNG specification (ISO/IEC 15948): Skia only decodes them to 8 bits
/// or half floats. Handles colour types 0 (grey), 2 (RGB), 4 (grey+alpha), 6 (RGBA), the five scanline filters
/// and Adam7 interlacing; the tRNS chunk (one transparent colour) is ignored. Returns samples on 0-65535 as
/// (H, W, 4) RGBA, grey expanded to three channels, alpha 65535 when absent.
/// </summary>
static class Png16
{
    public static (int Height, int Width, ushort[] Rgba, bool HasAlpha) Decode(byte[] png, string name)
    {
        int pos = 8, width = 0, height = 0, colorType = -1, interlace = 0;
        var idat = new MemoryStream();
        while (pos + 8 <= png.Length)
        {
            int len = (int)ReadBE(png, pos);
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            if (len < 0 || pos + 12 + (long)len > png.Length)
                throw new InvalidDataException($"{name}: PNG chunk '{type}' runs past the end of the file: the file is truncated");
            if (type == "IHDR")
            {
                width = (int)ReadBE(png, pos + 8);
                height = (int)ReadBE(png, pos + 12);
                if (png[pos + 16] != 16) throw new InvalidOperationException("not a 16-bit PNG");
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

        byte[] raw;
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            using var all = new MemoryStream();
            z.CopyTo(all);
            raw = all.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{name}: corrupt PNG image data ({e.Message})", e);
        }

        var rgba = new ushort[(long)height * width * 4];
        int bpp = channels * 2, offset = 0;
        // Adam7 passes: (x0, y0, dx, dy); a non-interlaced image is one pass over everything.
        (int X0, int Y0, int Dx, int Dy)[] passes = interlace == 1
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)];
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
