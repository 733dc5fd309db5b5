using InputGradients.Core;
using InputGradients.Imaging;

namespace InputGradients.Tests.Imaging;

/// <summary>
/// Hand-made hostile images: sizes claimed in a header must be checked against the pixel budget before anything is
/// decoded (managed allocations are measured; Skia's own are bounded by the same check), and damaged headers must
/// give one clear line naming the file.
/// </summary>
public sealed class HostileImageTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("hostile-image-tests-").FullName;
    public void Dispose() => Directory.Delete(dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        var p = Path.Combine(dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    /// <summary>Runs <paramref name="load"/>, returning its exception and the bytes it allocated on the managed heap.</summary>
    static (InvalidDataException Error, long Allocated) Refused(Action load)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(load);
        return (e, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void A_tiny_PNG_declaring_20000_by_20000_is_refused_before_decoding(int bitDepth)
    {
        var png = PngWriter.Build(("IHDR", PngWriter.Ihdr(20000, 20000, bitDepth, 6)), ("IDAT", PngWriter.Zlib(new byte[16])), ("IEND", []));
        Assert.True(png.Length < 100);
        var path = Write($"huge{bitDepth}.png", png);
        var (e, allocated) = Refused(() => ImageIO.Load(path));
        Assert.Equal($"{path}: image of 20000x20000 pixels is larger than the 100000000 pixels allowed (LoadLimits.MaxPixels)", e.Message);
        Assert.True(allocated < 16 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void The_pixel_budget_can_be_lowered_and_raised()
    {
        var path = Write("small.png", PngWriter.Encode(100, 50, 0, 8, new ushort[5000]));
        var (e, _) = Refused(() => ImageIO.Load(path, limits: LoadLimits.Default with { MaxPixels = 4999 }));
        Assert.Contains("image of 100x50 pixels is larger than the 4999 pixels allowed", e.Message);
        using var ok = ImageIO.Load(path, limits: LoadLimits.Default with { MaxPixels = 5000 });
        Assert.Equal(new long[] { 3, 50, 100 }, ok.shape);
    }

    [Fact]
    public void A_16_bit_PNG_whose_data_inflates_far_past_its_size_inflates_only_what_it_needs()
    {
        // A 1x1 16-bit grey PNG whose image data goes on for 64 MiB of zeros beyond its one scanline.
        var raw = new byte[64 << 20];
        raw[1] = 0x80; // filter 0, sample 0x8000
        var png = PngWriter.Build(("IHDR", PngWriter.Ihdr(1, 1, 16, 0)), ("IDAT", PngWriter.Zlib(raw, System.IO.Compression.CompressionLevel.SmallestSize)), ("IEND", []));
        var path = Write("long-data.png", png);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var image = ImageIO.Load(path);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "inflated the whole stream");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(0x8000 / 65535f, image[0, 0, 0].item<float>(), 1e-6f);
    }

    [Fact]
    public void A_16_bit_PNG_whose_zlib_stream_wants_a_preset_dictionary_is_reported_as_corrupt()
    {
        // Found by tools/ParserFuzz: zlib header 78 BB sets FDICT, and .NET's internal ZLibException (an IOException) escaped.
        var png = PngWriter.Build(("IHDR", PngWriter.Ihdr(3, 2, 16, 6)), ("IDAT", [0x78, 0xBB, 0, 0, 0, 1, 0x03, 0x00]), ("IEND", []));
        var path = Write("fdict.png", png);
        var (e, _) = Refused(() => ImageIO.Load(path));
        Assert.StartsWith($"{path}: corrupt PNG image data (", e.Message);
    }

    [Fact]
    public void A_16_bit_PNG_with_two_headers_says_so()
    {
        var png = PngWriter.Build(("IHDR", PngWriter.Ihdr(1, 1, 16, 0)), ("IHDR", PngWriter.Ihdr(30000, 30000, 16, 0)),
            ("IDAT", PngWriter.Zlib(new byte[3])), ("IEND", []));
        var path = Write("two-headers16.png", png);
        var (e, _) = Refused(() => ImageIO.Load(path));
        Assert.Equal($"{path}: the PNG has two IHDR (header) chunks; the file is damaged", e.Message);
    }

    [Fact]
    public void An_8_bit_PNG_with_two_headers_says_so()
    {
        var png = PngWriter.Build(("IHDR", PngWriter.Ihdr(1, 1, 8, 0)), ("IHDR", PngWriter.Ihdr(1, 1, 16, 0)),
            ("IDAT", PngWriter.Zlib(new byte[2])), ("IEND", []));
        var path = Write("two-headers8.png", png);
        var (e, _) = Refused(() => ImageIO.Load(path));
        Assert.Equal($"{path}: the PNG has two IHDR (header) chunks; the file is damaged", e.Message);
    }

    /// <summary>A GIF (GIF89a specification) with a 1x1 screen and one frame of the given size.</summary>
    static byte[] Gif(int frameWidth, int frameHeight, int frames = 1)
    {
        var b = new List<byte>();
        b.AddRange("GIF89a"u8.ToArray());
        b.AddRange([1, 0, 1, 0, 0x80, 0, 0]);          // screen 1x1, global colour table of 2 entries
        b.AddRange([0, 0, 0, 255, 255, 255]);
        for (int f = 0; f < frames; f++)
        {
            b.AddRange([0x21, 0xF9, 4, 0, 10, 0, 0, 0]); // graphic control: 0.1 s delay
            b.AddRange([0x2C, 0, 0, 0, 0, (byte)frameWidth, (byte)(frameWidth >> 8), (byte)frameHeight, (byte)(frameHeight >> 8), 0]);
            b.AddRange([2, 2, 0x44, 0x01, 0]);        // LZW code size 2: clear, one pixel, end
        }
        b.Add(0x3B);
        return b.ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_GIF_with_a_huge_frame_is_refused_before_decoding(int frames)
    {
        var path = Write($"frame{frames}.gif", Gif(19789, 18250, frames));
        var (e, allocated) = Refused(() => ImageIO.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("19789x18250 pixels is larger than the 100000000 pixels allowed (LoadLimits.MaxPixels)", e.Message);
        Assert.True(allocated < 16 << 20, $"allocated {allocated} bytes");
    }
}
