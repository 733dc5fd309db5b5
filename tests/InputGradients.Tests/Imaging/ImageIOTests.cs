using InputGradients.Data;
using InputGradients.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Imaging;

public sealed class ImageIOTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("imageio-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        var p = Path.Combine(dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    static float[] Values(Tensor t) => t.contiguous().data<float>().ToArray();

    [Fact]
    public void GreyPngComesBackAsThreeEqualChannels()
    {
        // 3x2 grey image with known levels.
        ushort[] levels = [0, 51, 102, 153, 204, 255];
        var path = Write("grey.png", PngWriter.Encode(3, 2, colorType: 0, bitDepth: 8, levels));
        using var img = ImageIO.Load(path);
        Assert.Equal(new long[] { 3, 2, 3 }, img.shape);
        var v = Values(img);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 6; i++)
                Assert.Equal(levels[i] / 255f, v[c * 6 + i], 6);
    }

    [Fact]
    public void RgbaPngIsCompositedOnWhiteOrAlphaDropped()
    {
        // Two pixels: opaque red, and pure blue at alpha 51/255 = 0.2.
        ushort[] rgba = [255, 0, 0, 255, 0, 0, 255, 51];
        var path = Write("rgba.png", PngWriter.Encode(2, 1, colorType: 6, bitDepth: 8, rgba));

        using var white = ImageIO.Load(path, PixelScale.Byte, AlphaMode.CompositeOnWhite);
        // Over white: rgb*a + 255*(1-a) -> (204, 204, 255) for the blue pixel.
        Assert.Equal(new float[] { 255, 204, 0, 204, 0, 255 }, Values(white).Select(x => MathF.Round(x, 3)).ToArray());

        using var dropped = ImageIO.Load(path, PixelScale.Byte, AlphaMode.Drop);
        Assert.Equal(new float[] { 255, 0, 0, 0, 0, 255 }, Values(dropped).Select(x => MathF.Round(x, 3)).ToArray());
    }

    [Fact]
    public void SixteenBitPngKeepsItsPrecision()
    {
        // RGB 16-bit: values that 8 bits cannot tell apart (257 apart is one 8-bit level).
        ushort[] rgb = [0, 1, 65535, 1000, 1001, 32768];
        var path = Write("rgb16.png", PngWriter.Encode(2, 1, colorType: 2, bitDepth: 16, rgb));
        using var img = ImageIO.Load(path);
        Assert.Equal(new long[] { 3, 1, 2 }, img.shape);
        var v = Values(img); // (c, x) order: R0 R1 G0 G1 B0 B1
        float[] expected = [0 / 65535f, 1000 / 65535f, 1 / 65535f, 1001 / 65535f, 65535 / 65535f, 32768 / 65535f];
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], v[i], 6);
        Assert.NotEqual(v[0], v[2]); // 0 and 1 differ: not squeezed to 8 bits
    }

    [Fact]
    public void SixteenBitGreyAlphaPng()
    {
        ushort[] ga = [65535, 65535, 0, 32768];   // opaque white; black at alpha ~0.5
        var path = Write("ga16.png", PngWriter.Encode(2, 1, colorType: 4, bitDepth: 16, ga));
        using var img = ImageIO.Load(path);
        var v = Values(img);
        float a = 32768 / 65535f;
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(1f, v[c * 2], 5);
            Assert.Equal(1 - a, v[c * 2 + 1], 4);
        }
    }

    [Fact]
    public void PalettePngIsExpandedToItsColours()
    {
        byte[] palette = [255, 0, 0, 0, 128, 255, 10, 20, 30];
        var path = Write("palette.png", PngWriter.Encode(3, 1, colorType: 3, bitDepth: 8, [2, 0, 1], palette));
        using var img = ImageIO.Load(path, PixelScale.Byte);
        // CHW: R = 10 255 0, G = 20 0 128, B = 30 0 255
        Assert.Equal(new float[] { 10, 255, 0, 20, 0, 128, 30, 0, 255 }, Values(img));
    }

    [Fact]
    public void GreyJpegComesBackAsThreeEqualChannels()
    {
        // A grey JPEG made by ImageMagick would need a tool on CI; Skia's encoder writes one (lossy, so only
        // the shape, the equal channels and the rough level are checked).
        var info = new SkiaSharp.SKImageInfo(8, 8, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque);
        using var bmp = new SkiaSharp.SKBitmap(info);
        bmp.Erase(new SkiaSharp.SKColor(100, 100, 100));
        using var jpeg = bmp.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 95);
        var path = Write("grey.jpg", jpeg.ToArray());
        using var img = ImageIO.Load(path, PixelScale.Byte);
        Assert.Equal(new long[] { 3, 8, 8 }, img.shape);
        Assert.True(Same(img[0], img[1]) && Same(img[1], img[2]));
        Assert.InRange(img.mean().item<float>(), 97f, 103f);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void KnownSmallImageRoundTripsThroughSavePng()
    {
        // Random 8-bit levels: saving on 0-255 and loading again gives them back exactly.
        var gen = new Random(7);
        var levels = Enumerable.Range(0, 3 * 5 * 4).Select(_ => (float)gen.Next(256)).ToArray();
        using var x = tensor(levels, [3, 5, 4]);
        var path = Path.Combine(dir, "roundtrip.png");
        ImageIO.SavePng(x, path, PixelScale.Byte);
        using var back = ImageIO.Load(path, PixelScale.Byte);
        Assert.Equal(levels, Values(back));

        // Grey (1,H,W) on 0-1 saves a grey PNG that loads as three equal channels.
        using var g = tensor(new float[] { 0f, 0.5f, 1f, 0.25f }, [1, 2, 2]);
        var gp = Path.Combine(dir, "grey-out.png");
        ImageIO.SavePng(g, gp);
        using var gb = ImageIO.Load(gp, PixelScale.Byte);
        Assert.Equal(new float[] { 0, 128, 255, 64 }, Values(gb).Take(4).ToArray()); // round(127.5) = 128, round(63.75) = 64
    }

    [Fact]
    public void HandWrittenPngMatchesWhatSavePngWrites()
    {
        // Our own encoder (independent of Skia) and Skia's agree on the decoded values.
        ushort[] rgb = [10, 20, 30, 40, 50, 60, 70, 80, 90, 200, 210, 220];
        var path = Write("rgb.png", PngWriter.Encode(2, 2, colorType: 2, bitDepth: 8, rgb));
        using var img = ImageIO.Load(path, PixelScale.Byte);
        // CHW: R = 10 40 70 200, G = 20 50 80 210, B = 30 60 90 220
        Assert.Equal(new float[] { 10, 40, 70, 200, 20, 50, 80, 210, 30, 60, 90, 220 }, Values(img));
    }

    [Fact]
    public void RealJpegAndPngFromTheDataFolderLoad()
    {
        using var cat = ImageIO.Load(DataDirectory.Path("images", "chelsea.png"));
        Assert.Equal(new long[] { 3, 300, 451 }, cat.shape);   // skimage.data.chelsea() is (300, 451, 3)
        using var rocket = ImageIO.Load(DataDirectory.Path("images", "rocket.jpg"), PixelScale.Byte);
        Assert.Equal(new long[] { 3, 427, 640 }, rocket.shape); // skimage.data.rocket() is (427, 640, 3)
        Assert.InRange(rocket.min().item<float>(), 0f, 255f);
        Assert.InRange(rocket.max().item<float>(), 200f, 255f);
    }

    [Fact]
    public void TruncatedJpegIsRejectedNamingTheFile()
    {
        var full = File.ReadAllBytes(DataDirectory.Path("images", "rocket.jpg"));
        var path = Write("truncated.jpg", full[..(full.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void TextFileRenamedJpgIsRejectedNamingTheFile()
    {
        var path = Write("notes.jpg", System.Text.Encoding.UTF8.GetBytes("this is not a picture\n"));
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a readable image", e.Message);
        Assert.Contains("looks like text", e.Message);
    }

    [Fact]
    public void EmptyFileIsRejectedNamingTheFile()
    {
        var path = Write("empty.png", []);
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void CorruptPngIsRejectedNamingTheFile()
    {
        var bytes = PngWriter.Encode(4, 4, 0, 8, new ushort[16]);
        // Keep the signature and header, garble the compressed data.
        for (int i = 41; i < bytes.Length - 12; i++) bytes[i] ^= 0x5A;
        var path = Write("corrupt.png", bytes);
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MissingFileIsRejectedNamingTheFile()
    {
        var path = Path.Combine(dir, "nowhere.jpg");
        var e = Assert.Throws<FileNotFoundException>(() => ImageIO.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void SavePngRejectsNonImageShapes()
    {
        using var x = zeros(2, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => ImageIO.SavePng(x, Path.Combine(dir, "x.png")));
        Assert.Contains("(2,4,4)", e.Message);
    }
}
