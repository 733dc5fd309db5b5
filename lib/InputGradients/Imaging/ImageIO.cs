using System.Runtime.InteropServices;
using InputGradients.Core;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Imaging;

/// <summary>The scale of pixel values in a float image tensor.</summary>
public enum PixelScale
{
    /// <summary>0 to 1, like torchvision's <c>ToTensor</c>.</summary>
    Unit,
    /// <summary>0 to 255, like Caffe/CNTK models (e.g. the ResNet-18 backbone's preprocessing).</summary>
    Byte,
}

/// <summary>What to do with an alpha channel (transparency) when loading an image as RGB.</summary>
public enum AlphaMode
{
    /// <summary>Composite the image over a white background: rgb*a + 1*(1-a). What a viewer shows.</summary>
    CompositeOnWhite,
    /// <summary>Ignore alpha and keep the stored colour values, like PIL's <c>Image.convert("RGB")</c>.</summary>
    Drop,
}

/// <summary>
/// Loading images into float tensors (3,H,W) and saving tensors as PNG, with SkiaSharp.
/// Handles JPEG, PNG (grey, grey+alpha, RGB, RGBA, palette, 8 and 16 bits per channel), and anything else
/// Skia decodes (WebP, GIF's first frame, BMP). Like PIL (and so torchvision's default loader), colour profiles
/// and EXIF orientation are ignored: the stored values come back as they are. Grey images come back with three
/// equal channels. 16-bit images keep their precision (values / 65535).
/// <para>The size is read from the header and checked against <see cref="LoadLimits.MaxPixels"/> (100 megapixels by
/// default; each frame of an animation too) before any pixel is decoded, so a small file cannot make the decoder
/// allocate gigabytes.</para>
/// </summary>
public static class ImageIO
{
    /// <summary>
    /// Loads an image file as a float32 tensor of shape (3,H,W), channels RGB, on 0-1 or 0-255.
    /// Throws <see cref="FileNotFoundException"/> for a missing file and <see cref="InvalidDataException"/> naming
    /// the file for an empty, non-image, corrupt or truncated one, or one larger than <paramref name="limits"/> allow
    /// (<see cref="LoadLimits.Default"/> when null).
    /// </summary>
    public static Tensor Load(string path, PixelScale scale = PixelScale.Unit, AlphaMode alpha = AlphaMode.CompositeOnWhite, LoadLimits? limits = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file not found: {path}", path);
        byte[] bytes = File.ReadAllBytes(path);
        return Decode(bytes, path, scale, alpha, limits);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="name"/> is used in error messages.</summary>
    public static Tensor Decode(byte[] bytes, string name, PixelScale scale = PixelScale.Unit, AlphaMode alpha = AlphaMode.CompositeOnWhite, LoadLimits? limits = null)
    {
        limits ??= LoadLimits.Default;
        if (bytes.Length == 0)
            throw new InvalidDataException($"{name}: the file is empty (0 bytes), not an image");
        Png16.CheckHeader(bytes, name);
        using var codec = SKCodec.Create(new MemoryStream(bytes, writable: false), out var createResult)
            ?? throw new InvalidDataException(
                $"{name}: not a readable image ({Describe(createResult)}; {bytes.Length} bytes starting with {Magic(bytes)})");

        var info = codec.Info;
        int h = info.Height, w = info.Width;
        if (h <= 0 || w <= 0)
            throw new InvalidDataException($"{name}: image has an impossible size {w}x{h}");
        CheckPixels(name, w, h, limits, "image");
        // An animation's frames are decoded into the canvas, but a frame may claim to be larger than it.
        if (codec.FrameCount > 1)
            foreach (var f in codec.FrameInfo)
                CheckPixels(name, f.FrameRect.Width, f.FrameRect.Height, limits, "frame");
        using var scope = NewDisposeScope();
        Tensor hwc;
        bool hasAlpha = info.AlphaType != SKAlphaType.Opaque;
        if (IsSixteenBitPng(bytes, codec))
        {
            // Skia would squeeze 16-bit samples to 8 bits (or half floats): decode them ourselves.
            var (ph, pw, samples, alpha16) = Png16.Decode(bytes, name, limits);
            if (ph != h || pw != w)
                throw new InvalidDataException($"{name}: the PNG header gives two sizes ({pw}x{ph} and {w}x{h}); the file is damaged");
            hwc = tensor(samples.Select(v => (float)v).ToArray(), [ph, pw, 4]).div_scalar_(65535);
            hasAlpha = alpha16;
        }
        else
        {
            // Unpremultiplied so that AlphaMode.Drop really returns the stored colours; no colour space: no conversion.
            var dstInfo = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var pixels = new byte[dstInfo.BytesSize64];
            var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
            SKCodecResult result;
            try
            {
                result = codec.GetPixels(dstInfo, handle.AddrOfPinnedObject());
            }
            finally
            {
                handle.Free();
            }
            if (result != SKCodecResult.Success)
                throw new InvalidDataException(
                    $"{name}: cannot decode {codec.EncodedFormat} image of {w}x{h} ({Describe(result)})");
            hwc = tensor(pixels, [h, w, 4], ScalarType.Byte).to_type(ScalarType.Float32).div_scalar_(255);
        }
        var rgb = hwc.narrow(2, 0, 3);
        if (alpha == AlphaMode.CompositeOnWhite && hasAlpha)
        {
            var a = hwc.narrow(2, 3, 1);
            rgb = (rgb * a).add_tensor(a.rsub_scalar(1));
        }
        var chw = rgb.permute(2, 0, 1).contiguous();
        if (scale == PixelScale.Byte) chw = chw.mul_scalar(255);
        return chw.MoveToOuterDisposeScope();
    }

    internal static void CheckPixels(string name, long w, long h, LoadLimits limits, string what)
    {
        if (w * h > limits.MaxPixels)
            throw new InvalidDataException($"{name}: {what} of {w}x{h} pixels is larger than the {limits.MaxPixels} pixels allowed (LoadLimits.MaxPixels)");
    }

    // Skia reports 16-bit PNGs with an 8-bit colour type, so read the bit depth from the IHDR chunk
    // (PNG specification: 8-byte signature, chunk length, "IHDR", width, height, then the bit depth at byte 24).
    static bool IsSixteenBitPng(byte[] bytes, SKCodec codec) =>
        codec.EncodedFormat == SKEncodedImageFormat.Png && bytes.Length > 24
        && bytes[12] == (byte)'I' && bytes[13] == (byte)'H' && bytes[14] == (byte)'D' && bytes[15] == (byte)'R'
        && bytes[24] == 16;

    static string Describe(SKCodecResult r) => r switch
    {
        SKCodecResult.IncompleteInput => "the data ends early: the file is truncated",
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.Unimplemented => "unrecognised or unsupported format",
        SKCodecResult.InvalidInput => "invalid input",
        _ => $"decoder result {r}",
    };

    static string Magic(byte[] b) =>
        "0x" + Convert.ToHexString(b, 0, Math.Min(8, b.Length)) +
        (b.Take(8).All(c => c is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\r' or (byte)'\t') ? " (looks like text)" : "");

    /// <summary>
    /// Saves an image tensor as an 8-bit PNG. Accepts (3,H,W) RGB, (1,H,W) or (H,W) grey, with values on the
    /// given scale; values outside it are clamped, then rounded to the nearest of the 256 levels.
    /// </summary>
    public static void SavePng(Tensor image, string path, PixelScale scale = PixelScale.Unit)
    {
        using var scope = NewDisposeScope();
        var x = image.detach().to(CPU).to_type(ScalarType.Float32);
        if (x.dim() == 2) x = x.unsqueeze(0);
        if (x.dim() != 3 || (x.shape[0] != 1 && x.shape[0] != 3))
            throw new ArgumentException(
                $"SavePng({path}): expected an image tensor (3,H,W), (1,H,W) or (H,W), got ({string.Join(",", image.shape)})", nameof(image));
        int c = (int)x.shape[0], h = (int)x.shape[1], w = (int)x.shape[2];
        float max = scale == PixelScale.Unit ? 1f : 255f;
        var levels = x.div_scalar(max).clamp_scalar(0, 1).mul_scalar(255).round().to_type(ScalarType.Byte);
        byte[] bytes;
        SKImageInfo info;
        if (c == 1)
        {
            bytes = levels.contiguous().data<byte>().ToArray();
            info = new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque);
        }
        else
        {
            var rgba = cat([levels, HeldScalars.filled([1, h, w], 255, ScalarType.Byte)], 0).permute(1, 2, 0).contiguous();
            bytes = rgba.data<byte>().ToArray();
            info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        }
        using var bitmap = new SKBitmap();
        var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        try
        {
            if (!bitmap.InstallPixels(info, handle.AddrOfPinnedObject(), info.RowBytes))
                throw new InvalidOperationException($"SavePng({path}): Skia refused a {w}x{h} bitmap");
            using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new InvalidOperationException($"SavePng({path}): PNG encoding failed");
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            using var file = File.Create(path);
            encoded.SaveTo(file);
        }
        finally
        {
            handle.Free();
        }
    }
}
