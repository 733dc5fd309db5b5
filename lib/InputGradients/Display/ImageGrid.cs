using SkiaSharp;
using TorchSharp;

namespace InputGradients.Display;

/// <summary>
/// A grid of image panels with titles, drawn to PNG: matplotlib's <c>subplots</c> for tensors.
/// Panels fill rows left to right; <c>columns</c> fixes the row length (0: everything on one row).
/// Notebooks show it as image/png.
/// </summary>
/// <example><code>
/// new ImageGrid(columns: 3)
///     .Add(image, "original")
///     .Heatmap(saliency, "saliency", ColorMap.Hot)
///     .Overlay(image, cam, "Grad-CAM", alpha: 0.5)
/// </code></example>
public sealed class ImageGrid : IPngImage
{
    readonly List<(Raster? Image, string? Title)> _panels = [];
    readonly List<string> _rowLabels = [];
    string? _title;
    int? _panelSize;
    float? _fontSize;   // null: DefaultFontSize scaled to the grid's width

    /// <summary>Text size of a grid that fits the printed page's width (about 700 px at 96 dpi, A4 with margins).</summary>
    public const float DefaultFontSize = 13f;
    const float PrintWidthPixels = 700f;

    public ImageGrid(int columns = 0)
    {
        if (columns < 0) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be 0 (one row) or more.");
        Columns = columns;
    }

    /// <summary>Panels per row; 0 puts every panel on one row.</summary>
    public int Columns { get; }

    public int Count => _panels.Count;

    public int RowCount => _panels.Count == 0 ? 0 : (_panels.Count + EffectiveColumns - 1) / EffectiveColumns;

    int EffectiveColumns => Columns > 0 ? Columns : Math.Max(_panels.Count, 1);

    /// <summary>One image (C,H,W or H,W tensor) shown alone.</summary>
    public static ImageGrid Of(torch.Tensor image, string? title = null, ColorMap? cmap = null, ImageScale scale = ImageScale.Auto)
        => new ImageGrid().Add(image, title, cmap, scale);

    /// <summary>A row of images with optional titles, like <c>plt.subplots(1, n)</c>.</summary>
    public static ImageGrid Row(IEnumerable<torch.Tensor> images, IEnumerable<string?>? titles = null, ColorMap? cmap = null,
        ImageScale scale = ImageScale.Auto)
    {
        var grid = new ImageGrid();
        var t = titles?.ToList();
        int i = 0;
        foreach (var image in images)
        {
            grid.Add(image, t is not null && i < t.Count ? t[i] : null, cmap, scale);
            i++;
        }
        return grid;
    }

    /// <summary>
    /// Adds an image: [H,W], [C,H,W] or [1,C,H,W] with 1 or 3 channels, 0-1 floats or 0-255.
    /// One-channel images use <paramref name="cmap"/> (grey by default).
    /// </summary>
    public ImageGrid Add(torch.Tensor image, string? title = null, ColorMap? cmap = null, ImageScale scale = ImageScale.Auto)
    {
        var (c, h, w, values, isBytes) = Raster.ReadTensor(image, nameof(image));
        _panels.Add((c == 3
            ? Raster.FromPlanarRgb(h, w, values, scale, isBytes)
            : Raster.FromScalar(h, w, values, scale, cmap ?? ColorMap.Grey, isBytes), title));
        return this;
    }

    /// <summary>Adds every image of a batch [N,C,H,W], with titles for as many as given.</summary>
    public ImageGrid AddBatch(torch.Tensor batch, IEnumerable<string?>? titles = null, ColorMap? cmap = null,
        ImageScale scale = ImageScale.Auto)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.dim() != 4)
            throw new ArgumentException($"AddBatch needs [N,C,H,W]; got shape [{string.Join(", ", batch.shape)}].", nameof(batch));
        var t = titles?.ToList();
        for (long i = 0; i < batch.shape[0]; i++)
        {
            using var one = batch[i];
            Add(one, t is not null && i < t.Count ? t[(int)i] : null, cmap, scale);
        }
        return this;
    }

    /// <summary>
    /// Adds a one-channel map ([H,W], [1,H,W] or [1,1,H,W]) through a colour map, scaled to its own range
    /// by default, as <c>plt.imshow(m, cmap="jet")</c>.
    /// </summary>
    public ImageGrid Heatmap(torch.Tensor map, string? title = null, ColorMap? cmap = null, ImageScale scale = ImageScale.MinMax)
    {
        var (c, h, w, values, isBytes) = Raster.ReadTensor(map, nameof(map));
        if (c != 1)
            throw new ArgumentException(
                $"Heatmap needs one channel; got shape [{string.Join(", ", map.shape)}]. Reduce channels first (e.g. abs().amax(0)).", nameof(map));
        _panels.Add((Raster.FromScalar(h, w, values, scale, cmap ?? ColorMap.Jet, isBytes), title));
        return this;
    }

    /// <summary>A heat map from numbers indexed [row, column].</summary>
    public ImageGrid Heatmap(double[,] map, string? title = null, ColorMap? cmap = null, ImageScale scale = ImageScale.MinMax)
    {
        ArgumentNullException.ThrowIfNull(map);
        int h = map.GetLength(0), w = map.GetLength(1);
        if (h == 0 || w == 0) throw new ArgumentException("Heatmap: the map is empty.", nameof(map));
        var values = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                values[y * w + x] = (float)map[y, x];
        _panels.Add((Raster.FromScalar(h, w, values, scale, cmap ?? ColorMap.Jet, false), title));
        return this;
    }

    /// <summary>
    /// A heat map over an image: the map is scaled to [0, 1] (MinMax by default), resized bilinearly to the image
    /// if needed (Grad-CAM's coarse maps), coloured, and blended: <c>(1 - alpha) * image + alpha * colour</c>.
    /// </summary>
    public ImageGrid Overlay(torch.Tensor image, torch.Tensor map, string? title = null, double alpha = 0.5,
        ColorMap? cmap = null, ImageScale mapScale = ImageScale.MinMax, ImageScale imageScale = ImageScale.Auto)
    {
        if (alpha is < 0 or > 1 || double.IsNaN(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1].");
        var (c, h, w, values, isBytes) = Raster.ReadTensor(image, nameof(image));
        var baseImage = c == 3
            ? Raster.FromPlanarRgb(h, w, values, imageScale, isBytes)
            : Raster.FromScalar(h, w, values, imageScale, ColorMap.Grey, isBytes);
        var (mc, mh, mw, mvalues, mBytes) = Raster.ReadTensor(map, nameof(map));
        if (mc != 1)
            throw new ArgumentException($"Overlay needs a one-channel map; got shape [{string.Join(", ", map.shape)}].", nameof(map));
        var unit = Raster.ToUnit(mvalues, mapScale, mBytes);
        unit = Raster.ResizeBilinear(unit, mh, mw, h, w);
        var heat = Raster.FromScalar(h, w, unit, ImageScale.Unit, cmap ?? ColorMap.Jet, false);
        var rgb = new float[h * w * 3];
        for (int i = 0; i < rgb.Length; i++)
            rgb[i] = (float)((1 - alpha) * baseImage.Rgb[i] + alpha * heat.Rgb[i]);
        _panels.Add((new Raster(h, w, rgb), title));
        return this;
    }

    /// <summary>Leaves the next cell empty (to start a new row early, or to align panels).</summary>
    public ImageGrid Skip(int cells = 1)
    {
        for (int i = 0; i < cells; i++) _panels.Add((null, null));
        return this;
    }

    /// <summary>A title above the whole grid (matplotlib's suptitle).</summary>
    public ImageGrid Title(string? title)
    {
        _title = title;
        return this;
    }

    /// <summary>Labels at the left of each row, top to bottom.</summary>
    public ImageGrid RowLabels(params string[] labels)
    {
        _rowLabels.Clear();
        _rowLabels.AddRange(labels);
        return this;
    }

    /// <summary>
    /// Longest side of every panel in pixels. Default: the largest image's own size, enlarged by a whole factor
    /// (pixels stay sharp) to at least 128, or reduced to at most 256.
    /// </summary>
    public ImageGrid PanelSize(int pixels)
    {
        if (pixels < 1) throw new ArgumentOutOfRangeException(nameof(pixels), pixels, "panel size must be at least 1 pixel.");
        _panelSize = pixels;
        return this;
    }

    /// <summary>
    /// Text size in pixels of the PNG. By default <see cref="DefaultFontSize"/>, grown with grids wider than a printed
    /// page so that titles still print at that size once the PDF scales the image down to the page's width.
    /// </summary>
    public ImageGrid FontSize(float points)
    {
        if (points is < 4 or > 96) throw new ArgumentOutOfRangeException(nameof(points), points, "font size must be in [4, 96].");
        _fontSize = points;
        return this;
    }

    public byte[] ToPng()
    {
        using var bitmap = Render();
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public void SavePng(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, ToPng());
    }

    public override string ToString()
    {
        var titles = string.Join(", ", _panels.Where(p => p.Image is not null).Select(p => p.Title ?? "untitled"));
        return $"ImageGrid {RowCount}x{EffectiveColumns}{(_title is null ? "" : $" \"{_title}\"")}: {titles}";
    }

    const int Margin = 6;

    internal SKBitmap Render()
    {
        SkiaNative.Ensure();
        if (_panels.All(p => p.Image is null))
            throw new InvalidOperationException("ImageGrid has no images: Add, Heatmap or Overlay one first.");
        int cols = EffectiveColumns, rows = RowCount;
        var (cellW, cellH, nearest) = CellSize();

        var typeface = Fonts.Typeface;
        bool anyText = _title is not null || _rowLabels.Count > 0 || _panels.Any(p => !string.IsNullOrEmpty(p.Title));
        if (anyText && typeface is null) Fonts.WarnMissingOnce();
        float fontSize = EffectiveFontSize(cols, cellW);
        using var font = typeface is null ? null : new SKFont(typeface, fontSize);
        float lineH = font is null ? 0 : MathF.Ceiling(fontSize * 1.4f);
        bool titles = font is not null && _panels.Any(p => !string.IsNullOrEmpty(p.Title));
        // Long titles wrap onto up to three lines rather than being cut.
        var wrapped = _panels.Select(p => titles && !string.IsNullOrEmpty(p.Title) ? Wrap(p.Title, font!, cellW + Margin) : []).ToList();
        int titleH = titles ? (int)lineH * Math.Max(1, wrapped.Max(w => w.Count)) : 0;
        int supH = font is not null && !string.IsNullOrEmpty(_title) ? (int)(lineH * 1.2f) : 0;
        int labelW = 0;
        if (font is not null && _rowLabels.Count > 0)
            labelW = (int)MathF.Ceiling(_rowLabels.Max(l => font.MeasureText(l))) + Margin;

        int width = Margin + labelW + cols * (cellW + Margin);
        int height = Margin + supH + rows * (titleH + cellH + Margin);
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var textPaint = new SKPaint { Color = SKColors.Black, IsAntialias = true };

        if (supH > 0)
            canvas.DrawText(Fit(_title!, font!, width - 2 * Margin), width / 2f, Margin + fontSize * 1.1f, SKTextAlign.Center, font!, textPaint);

        for (int k = 0; k < _panels.Count; k++)
        {
            var (raster, title) = _panels[k];
            int row = k / cols, col = k % cols;
            int x0 = Margin + labelW + col * (cellW + Margin);
            int y0 = Margin + supH + row * (titleH + cellH + Margin);
            for (int line = 0; line < wrapped[k].Count; line++)
                canvas.DrawText(wrapped[k][line], x0 + cellW / 2f, y0 + fontSize + line * lineH, SKTextAlign.Center, font!, textPaint);
            if (raster is null) continue;
            DrawRaster(canvas, raster, x0, y0 + titleH, cellW, cellH, nearest);
        }

        if (font is not null)
            for (int r = 0; r < Math.Min(rows, _rowLabels.Count); r++)
            {
                float y = Margin + supH + r * (titleH + cellH + Margin) + titleH + cellH / 2f + fontSize / 3f;
                canvas.DrawText(_rowLabels[r], Margin + labelW - Margin, y, SKTextAlign.Right, font, textPaint);
            }
        return bitmap;
    }

    (int W, int H, bool Nearest) CellSize()
    {
        var images = _panels.Where(p => p.Image is not null).Select(p => p.Image!).ToList();
        int maxW = images.Max(r => r.Width), maxH = images.Max(r => r.Height);
        int longest = Math.Max(maxW, maxH);
        double scale;
        if (_panelSize is int size) scale = size / (double)longest;
        else if (longest < 128) scale = Math.Ceiling(128.0 / longest);
        else if (longest > 256) scale = 256.0 / longest;
        else scale = 1;
        return ((int)Math.Round(maxW * scale), (int)Math.Round(maxH * scale), scale >= 1);
    }

    static void DrawRaster(SKCanvas canvas, Raster raster, int x0, int y0, int cellW, int cellH, bool nearest)
    {
        using var src = new SKBitmap(new SKImageInfo(raster.Width, raster.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[raster.Width * raster.Height * 4];
        for (int i = 0, n = raster.Width * raster.Height; i < n; i++)
        {
            pixels[4 * i] = ToByte(raster.Rgb[3 * i]);
            pixels[4 * i + 1] = ToByte(raster.Rgb[3 * i + 1]);
            pixels[4 * i + 2] = ToByte(raster.Rgb[3 * i + 2]);
            pixels[4 * i + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, src.GetPixels(), pixels.Length);
        using var image = SKImage.FromBitmap(src);
        // Keep the aspect ratio inside the cell, centred.
        double s = Math.Min(cellW / (double)raster.Width, cellH / (double)raster.Height);
        float w = (float)(raster.Width * s), h = (float)(raster.Height * s);
        var dest = SKRect.Create(x0 + (cellW - w) / 2f, y0 + (cellH - h) / 2f, w, h);
        var sampling = nearest
            ? new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None)
            : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);
        canvas.DrawImage(image, dest, sampling);
    }

    /// <summary>The font size used: the one set with <see cref="FontSize"/>, else the default grown for wide grids.</summary>
    internal float EffectiveFontSize(int cols, int cellW) =>
        _fontSize ?? DefaultFontSize * MathF.Max(1f, (Margin + cols * (cellW + Margin)) / PrintWidthPixels);

    /// <summary>The font size of this grid's titles as rendered (see <see cref="FontSize"/>).</summary>
    public float RenderedFontSize
    {
        get
        {
            var (cellW, _, _) = CellSize();
            return EffectiveFontSize(EffectiveColumns, cellW);
        }
    }

    /// <summary>Words greedily onto lines no wider than <paramref name="width"/>, at most <paramref name="maxLines"/>;
    /// what does not fit ends the last line with "…".</summary>
    internal static List<string> Wrap(string text, SKFont font, float width, int maxLines = 3)
    {
        var lines = new List<string>();
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var current = "";
        for (int i = 0; i < words.Length; i++)
        {
            var candidate = current.Length == 0 ? words[i] : current + " " + words[i];
            if (current.Length == 0 || font.MeasureText(candidate) <= width) { current = candidate; continue; }
            lines.Add(Fit(current, font, width));
            current = words[i];
            if (lines.Count == maxLines - 1)
            {
                lines.Add(Fit(string.Join(' ', words[i..]), font, width));
                return lines;
            }
        }
        if (current.Length > 0) lines.Add(Fit(current, font, width));
        return lines;
    }

    static string Fit(string text, SKFont font, float width)
    {
        if (font.MeasureText(text) <= width) return text;
        while (text.Length > 1 && font.MeasureText(text + "…") > width) text = text[..^1];
        return text + "…";
    }

    static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0, 255);
}
