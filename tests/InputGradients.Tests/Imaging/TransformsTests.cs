using InputGradients.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Imaging;

public class TransformsTests
{
    // torchvision.transforms.functional._compute_resized_output_size, for an int size:
    //   short, long = sorted((h, w)); new_short = size; new_long = int(size * long / short)
    //   if max_size and new_long > max_size: new_short = int(max_size * new_short / new_long); new_long = max_size
    // Expected values worked out by hand from that formula.
    [Theory]
    [InlineData(480, 640, 256, null, 256, 341)]   // 256*640/480 = 341.33
    [InlineData(500, 375, 224, null, 298, 224)]   // 224*500/375 = 298.67
    [InlineData(300, 451, 224, null, 224, 336)]   // chelsea: 224*451/300 = 336.69
    [InlineData(427, 640, 224, null, 224, 335)]   // rocket: 224*640/427 = 335.74
    [InlineData(100, 100, 32, null, 32, 32)]
    [InlineData(10, 1000, 32, 500, 5, 500)]       // new_long 3200 > 500: new_short = int(500*32/3200) = 5
    public void ResizedSizeFollowsTorchvision(int h, int w, int size, int? maxSize, int eh, int ew)
    {
        Assert.Equal((eh, ew), Transforms.ResizedSize(h, w, size, maxSize));
    }

    [Fact]
    public void ResizeProducesTheTorchvisionSizeOnATensor()
    {
        using var x = rand(2, 3, 480, 640);
        using var y = Transforms.Resize(x, 256);
        Assert.Equal(new long[] { 2, 3, 256, 341 }, y.shape);
    }

    [Fact]
    public void EnlargingEqualsPlainBilinearWithoutAlignCorners()
    {
        // When enlarging, the antialiased filter reduces to ordinary bilinear interpolation (align_corners=False),
        // computed here by libtorch's own upsample_bilinear2d.
        using var x = rand(1, 3, 7, 5, generator: new Generator(3));
        using var ours = Transforms.Resize(x, 17, 12);
        using var theirs = nn.functional.interpolate(x, [17, 12], mode: InterpolationMode.Bilinear, align_corners: false);
        Assert.True(ours.allclose(theirs, rtol: 0, atol: 1e-5), $"max diff {(ours - theirs).abs().max().item<float>()}");
    }

    [Fact]
    public void ShrinkingMatchesLibtorchAntialiasedBilinear()
    {
        // libtorch's _upsample_bilinear2d_aa (torchvision's tensor path with antialias=True) is an independent
        // implementation of PIL's filter.
        using var x = rand(1, 3, 37, 53, generator: new Generator(5));
        using var ours = Transforms.Resize(x, 11, 16);
        using var theirs = nn.functional.interpolate(x, [11, 16], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        Assert.True(ours.allclose(theirs, rtol: 0, atol: 1e-5), $"max diff {(ours - theirs).abs().max().item<float>()}");
    }

    [Fact]
    public void ShrinkingByTwoAveragesWithTheTriangleFilter()
    {
        // Exact maths: scale 2, output pixel i has centre 2i+1 (input pixel j has centre j+0.5); the triangle
        // stretched to half-width 2 gives weights 1/8, 3/8, 3/8, 1/8 to inputs 2i-1 .. 2i+2, and at the borders
        // the missing input is dropped and the rest renormalised (3,3,1 / 7).
        using var x = tensor(new float[] { 0, 8, 16, 24, 32, 40, 48, 56 }, [1, 1, 8]);
        using var y = Transforms.Resize(x, 1, 4);
        float[] expected =
        [
            (0 * 3 + 8 * 3 + 16 * 1) / 7f,                   // inputs (-1) 0 1 2
            (8 * 1 + 16 * 3 + 24 * 3 + 32 * 1) / 8f,         // inputs 1..4
            (24 * 1 + 32 * 3 + 40 * 3 + 48 * 1) / 8f,        // inputs 3..6
            (40 * 1 + 48 * 3 + 56 * 3) / 7f,                 // inputs 5 6 7 (8)
        ];
        var got = y.data<float>().ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], got[i], 4);
    }

    [Fact]
    public void ConstantImageStaysConstant()
    {
        using var x = full(3, 31, 45, 0.3f);
        using var y = Transforms.Resize(x, 10);
        Assert.True(y.allclose(full(3, 10, 14, 0.3f), rtol: 0, atol: 1e-6));
    }

    [Theory]
    // torchvision: top = int(round((h - ch) / 2.0)), left likewise, Python round = half to even.
    [InlineData(5, 5, 2, 2, 2, 2)]   // round(1.5) = 2
    [InlineData(7, 7, 2, 2, 2, 2)]   // round(2.5) = 2
    [InlineData(9, 6, 4, 3, 2, 2)]   // round(2.5) = 2, round(1.5) = 2
    [InlineData(256, 341, 224, 224, 16, 58)] // round(58.5) = 58
    public void CenterCropOffsetsFollowTorchvision(int h, int w, int ch, int cw, int top, int left)
    {
        Assert.Equal((top, left), Transforms.CenterCropOffsets(h, w, ch, cw));
        using var x = arange(h * w, ScalarType.Float32).reshape(1, h, w);
        using var crop = Transforms.CenterCrop(x, ch, cw);
        Assert.Equal(new long[] { 1, ch, cw }, crop.shape);
        Assert.Equal((float)(top * w + left), crop[0, 0, 0].item<float>());
    }

    [Fact]
    public void CenterCropPadsWithZerosWhenTheImageIsSmaller()
    {
        // torchvision pads [left, top, right, bottom] = [pw // 2, ph // 2, (pw + 1) // 2, (ph + 1) // 2].
        using var x = ones(1, 2, 3);
        using var crop = Transforms.CenterCrop(x, 5, 4);
        Assert.Equal(new long[] { 1, 5, 4 }, crop.shape);
        // ph = 3 -> top 1, bottom 2; pw = 1 -> left 0, right 1.
        var expected = zeros(1, 5, 4);
        expected[0, TensorIndex.Slice(1, 3), TensorIndex.Slice(0, 3)] = ones(2, 3);
        Assert.True(Same(crop, expected));
    }

    [Fact]
    public void ToTensorAndNormalize()
    {
        // 1x2 RGB pixels in HWC bytes -> CHW floats on 0-1.
        using var t = Transforms.ToTensor([255, 0, 51, 0, 102, 255], 1, 2, 3);
        Assert.Equal(new long[] { 3, 1, 2 }, t.shape);
        Assert.Equal(new float[] { 1, 0, 0, 0.4f, 0.2f, 1 }, t.data<float>().ToArray().Select(v => MathF.Round(v, 6)).ToArray());
        using var n = Transforms.Normalize(t, [0.5, 0.5, 0.5], [0.5, 0.25, 1]);
        // (x - 0.5) / std
        Assert.Equal(new float[] { 1, -1, -2, -0.4f, -0.3f, 0.5f }, n.data<float>().ToArray().Select(v => MathF.Round(v, 5)).ToArray());
        Assert.Throws<ArgumentException>(() => Transforms.Normalize(t, [0.5], [0.5]));
        Assert.Throws<ArgumentException>(() => Transforms.ToTensor([1, 2, 3], 1, 2, 3));
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}

/// <summary>Against torchvision 0.14 itself (fixture made by tests/reference/imaging/resize_reference.py).</summary>
public class TransformsTorchvisionReferenceTests
{
    static readonly System.Text.Json.JsonElement Reference = LoadReference();

    static System.Text.Json.JsonElement LoadReference() => System.Text.Json.JsonDocument.Parse(
        File.ReadAllText(Path.Combine(TestPaths.Root, "tests", "reference", "imaging", "resize_reference.json"))).RootElement;

    // The script's input: pixel (c, y, x) = (7x + 13y + 50c) % 256, shape (3, 37, 53), on 0-255.
    static Tensor Input()
    {
        var v = new float[3 * 37 * 53];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 37; y++)
                for (int x = 0; x < 53; x++)
                    v[(c * 37 + y) * 53 + x] = (7 * x + 13 * y + 50 * c) % 256;
        return tensor(v, [3, 37, 53]);
    }

    static (long[] Shape, float[] Values) Case(string name)
    {
        var e = Reference.GetProperty(name);
        return (e.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray(),
                e.GetProperty("values").EnumerateArray().Select(s => (float)s.GetDouble()).ToArray());
    }

    [Theory]
    [InlineData("tensor_aa_resize_16", 16)]
    [InlineData("tensor_aa_resize_48", 48)]
    public void MatchesTorchvisionTensorPathWithAntialias(string name, int size)
    {
        var (shape, expected) = Case(name);
        using var x = Input();
        using var y = Transforms.Resize(x, size);
        Assert.Equal(shape, y.shape);
        var got = y.data<float>().ToArray();
        float maxDiff = got.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-3f, $"max difference {maxDiff} on the 0-255 scale");
    }

    [Theory]
    [InlineData("pil_resize_16", 16)]
    [InlineData("pil_resize_24", 24)]
    [InlineData("pil_resize_48", 48)]
    public void MatchesTorchvisionPilPathUpToItsEightBitRounding(string name, int size)
    {
        // PIL resamples uint8 images in two passes (horizontal, then vertical) and rounds to 8 bits after each,
        // with fixed-point weights. Our float result therefore differs by a level or two at sharp edges.
        var (shape, expected) = Case(name);
        using var x = Input();
        using var y = Transforms.Resize(x, size);
        Assert.Equal(shape, y.shape);
        var diffs = y.data<float>().ToArray().Zip(expected, (a, b) => Math.Abs(MathF.Round(a) - b)).ToArray();
        Assert.True(diffs.Max() <= 2, $"max difference {diffs.Max()} levels");
        Assert.True(diffs.Average() < 0.35, $"mean difference {diffs.Average()} levels");

        // Same weights, but with PIL's order and 8-bit rounding between and after the passes: (nearly) exact,
        // which shows the filter is PIL's and the differences above are only its intermediate rounding.
        int h = (int)shape[1], w = (int)shape[2];
        using var pass1 = Transforms.Resize(x, 37, w).round().clamp(0, 255);
        using var pass2 = Transforms.Resize(pass1, h, w).round().clamp(0, 255);
        var pilLike = pass2.data<float>().ToArray().Zip(expected, (a, b) => Math.Abs(a - b)).ToArray();
        Assert.True(pilLike.Max() <= 1, $"PIL-like max difference {pilLike.Max()}");
        Assert.True(pilLike.Count(d => d == 0) >= 0.99 * pilLike.Length,
            $"PIL-like: only {pilLike.Count(d => d == 0)} of {pilLike.Length} equal");
    }

    [Fact]
    public void ResizeThenCenterCropMatchesTorchvision()
    {
        var (shape, expected) = Case("pil_resize_16_crop_12");
        using var x = Input();
        using var y = Transforms.CenterCrop(Transforms.Resize(x, 16), 12);
        Assert.Equal(shape, y.shape);
        var diffs = y.data<float>().ToArray().Zip(expected, (a, b) => Math.Abs(MathF.Round(a) - b)).ToArray();
        Assert.True(diffs.Max() <= 2, $"max difference {diffs.Max()} levels");
    }
}
