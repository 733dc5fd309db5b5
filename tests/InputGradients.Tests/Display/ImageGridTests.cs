using InputGradients.Display;
using SkiaSharp;
using TorchSharp;

namespace InputGradients.Tests.Display;

public class ImageGridTests
{
    const int Margin = 6; // the grid's documented outer and inner margin

    static SKBitmap Decode(byte[] png)
    {
        Assert.True(png.Length > 8 && png[0] == 0x89 && png[1] == (byte)'P', "not PNG bytes");
        return SKBitmap.Decode(png) ?? throw new Xunit.Sdk.XunitException("PNG did not decode");
    }

    static (byte R, byte G, byte B) Pixel(SKBitmap b, int x, int y)
    {
        var c = b.GetPixel(x, y);
        return (c.Red, c.Green, c.Blue);
    }

    [Fact]
    public void Grey_ramp_0_to_1_floats_gives_exact_bytes_at_native_size()
    {
        using var ramp = torch.tensor(new float[] { 0f, 1f / 3, 2f / 3, 1f }).reshape(1, 4);
        using var bmp = Decode(ImageGrid.Of(ramp).PanelSize(4).ToPng());
        Assert.Equal(Margin + 4 + Margin, bmp.Width);
        Assert.Equal(Margin + 1 + Margin, bmp.Height);
        byte[] expected = [0, 85, 170, 255];
        for (int i = 0; i < 4; i++)
            Assert.Equal((expected[i], expected[i], expected[i]), Pixel(bmp, Margin + i, Margin));
        Assert.Equal(((byte)255, (byte)255, (byte)255), Pixel(bmp, 0, 0)); // white background
    }

    [Fact]
    public void Bytes_and_0_255_floats_read_the_same_as_0_1_floats()
    {
        using var u8 = torch.tensor(new byte[] { 0, 85, 170, 255 }).reshape(1, 1, 4);
        using var f255 = torch.tensor(new float[] { 0, 85, 170, 255 }).reshape(1, 4);
        foreach (var t in new[] { u8, f255 })
        {
            using var bmp = Decode(ImageGrid.Of(t).PanelSize(4).ToPng());
            Assert.Equal(((byte)85, (byte)85, (byte)85), Pixel(bmp, Margin + 1, Margin));
            Assert.Equal(((byte)255, (byte)255, (byte)255), Pixel(bmp, Margin + 3, Margin));
        }
    }

    [Fact]
    public void Channels_first_rgb_keeps_channel_order()
    {
        // 3 x 1 x 2: pixel 0 pure red, pixel 1 pure blue.
        using var t = torch.tensor(new float[] { 1, 0, 0, 0, 0, 1 }).reshape(3, 1, 2);
        using var bmp = Decode(ImageGrid.Of(t).PanelSize(2).ToPng());
        Assert.Equal(((byte)255, (byte)0, (byte)0), Pixel(bmp, Margin, Margin));
        Assert.Equal(((byte)0, (byte)0, (byte)255), Pixel(bmp, Margin + 1, Margin));
    }

    [Fact]
    public void Small_images_are_enlarged_by_a_whole_factor_with_sharp_pixels()
    {
        using var t = torch.zeros(28, 28);
        t[0, 0] = torch.tensor(1f);
        using var bmp = Decode(ImageGrid.Of(t).ToPng());
        // 28 px -> factor ceil(128 / 28) = 5 -> 140 px panel.
        Assert.Equal(Margin + 140 + Margin, bmp.Width);
        Assert.Equal(((byte)255, (byte)255, (byte)255), Pixel(bmp, Margin + 4, Margin + 4)); // inside the 5x5 block
        Assert.Equal(((byte)0, (byte)0, (byte)0), Pixel(bmp, Margin + 5, Margin + 5));       // next block, black
    }

    [Fact]
    public void Jet_heatmap_pixels_match_matplotlib()
    {
        using var m = torch.tensor(new float[] { 0f, 0.5f, 1f }).reshape(1, 3);
        using var bmp = Decode(new ImageGrid().Heatmap(m, cmap: ColorMap.Jet, scale: ImageScale.Unit).PanelSize(3).ToPng());
        // matplotlib cm.jet(0), cm.jet(0.5), cm.jet(1) (floats), times 255 and rounded.
        Assert.Equal(((byte)0, (byte)0, (byte)128), Pixel(bmp, Margin, Margin));
        Assert.Equal(((byte)125, (byte)255, (byte)122), Pixel(bmp, Margin + 1, Margin));
        Assert.Equal(((byte)128, (byte)0, (byte)0), Pixel(bmp, Margin + 2, Margin));
    }

    [Fact]
    public void MinMax_heatmap_of_numbers_spans_the_colour_map()
    {
        using var bmp = Decode(new ImageGrid().Heatmap(new double[,] { { -4, 6 } }, cmap: ColorMap.Grey).PanelSize(2).ToPng());
        Assert.Equal(((byte)0, (byte)0, (byte)0), Pixel(bmp, Margin, Margin));
        Assert.Equal(((byte)255, (byte)255, (byte)255), Pixel(bmp, Margin + 1, Margin));
    }

    [Fact]
    public void Overlay_blends_with_alpha_after_resizing_the_map()
    {
        // Image: uniform 0.2 grey, 1 x 2. Map: 1 x 1 value, so it resizes to a constant; Unit scale keeps 1.0 -> jet(1).
        using var image = torch.full(1, 2, 0.2f);
        using var map = torch.ones(1, 1);
        using var bmp = Decode(new ImageGrid().Overlay(image, map, alpha: 0.25, mapScale: ImageScale.Unit).PanelSize(2).ToPng());
        // 0.75 * 0.2 + 0.25 * jet(1) with jet(1) = (0.5, 0, 0) as stored in the 8-bit table (128/255).
        byte r = (byte)Math.Round(255 * (0.75 * 0.2 + 0.25 * 128 / 255.0));
        byte gb = (byte)Math.Round(255 * 0.75 * 0.2);
        Assert.Equal((r, gb, gb), Pixel(bmp, Margin, Margin));
        Assert.Equal((r, gb, gb), Pixel(bmp, Margin + 1, Margin));
    }

    [Fact]
    public void Bilinear_resize_matches_torch_interpolate()
    {
        var src = new float[] { 0, 1, 2, 3, 4, 5 }; // 2 x 3
        var ours = typeof(ImageGrid).Assembly.GetType("InputGradients.Display.Raster")!
            .GetMethod("ResizeBilinear")!.Invoke(null, [src, 2, 3, 5, 7]) as float[];
        using var t = torch.tensor(src).reshape(1, 1, 2, 3);
        using var r = torch.nn.functional.interpolate(t, [5, 7], mode: torch.InterpolationMode.Bilinear, align_corners: false);
        var expected = r.data<float>().ToArray();
        Assert.Equal(expected.Length, ours!.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], ours[i], 5);
    }

    [Fact]
    public void Grid_layout_rows_columns_and_titles()
    {
        using var a = torch.zeros(3, 10, 10);
        var grid = new ImageGrid(columns: 2).Add(a, "one").Add(a, "two").Add(a, "three").PanelSize(10);
        Assert.Equal(2, grid.RowCount);
        using var bmp = Decode(grid.ToPng());
        Assert.Equal(Margin + 2 * (10 + Margin), bmp.Width);
        if (Fonts.Typeface is null)
        {
            Assert.Equal(Margin + 2 * (10 + Margin), bmp.Height); // no font: titles left out
            return;
        }
        int titleH = (int)MathF.Ceiling(13f * 1.4f);
        Assert.Equal(Margin + 2 * (titleH + 10 + Margin), bmp.Height);
        // Title text drew dark pixels in the first title band, none in the 4th (empty) cell's band.
        bool Dark(int x0, int y0, int w, int h)
        {
            for (int y = y0; y < y0 + h; y++)
                for (int x = x0; x < x0 + w; x++)
                    if (bmp.GetPixel(x, y).Red < 128) return true;
            return false;
        }
        Assert.True(Dark(Margin, Margin, 10, titleH), "title 'one' was not drawn");
        Assert.False(Dark(Margin + 16, Margin + titleH + 10 + Margin, 10, titleH), "the empty cell has title pixels");
    }

    /// <summary>Rows [first, last] of the bitmap that hold a dark pixel between columns x0 and x1, or null.</summary>
    static (int First, int Last)? DarkRows(SKBitmap bmp, int x0, int x1)
    {
        int first = -1, last = -1;
        for (int y = 0; y < bmp.Height; y++)
            for (int x = x0; x < x1; x++)
                if (bmp.GetPixel(x, y).Red < 128) { if (first < 0) first = y; last = y; break; }
        return first < 0 ? null : (first, last);
    }

    [Fact]
    public void Titles_of_a_grid_wider_than_the_page_still_print_at_a_readable_size()
    {
        Assert.NotNull(Fonts.Typeface);
        // Six white 200-pixel panels: the PNG is about 1250 px wide, and the PDF shrinks it to the page's ~700 px.
        using var white = torch.ones(3, 200, 200);
        var grid = new ImageGrid(columns: 6).PanelSize(200).Add(white, "HHHH");
        for (int i = 0; i < 5; i++) grid.Add(white);
        using var bmp = Decode(grid.ToPng());
        var rows = DarkRows(bmp, Margin, Margin + 200) ?? throw new Xunit.Sdk.XunitException("no title drawn");
        // A capital H is about 0.73 em tall: at 13 px, 9.5 px. Printed, it must keep at least 8.5 px of that.
        double printedCapHeight = (rows.Last - rows.First + 1) * 700.0 / bmp.Width;
        Assert.True(printedCapHeight >= 8.5, $"capital letters print {printedCapHeight:F1} px tall in a {bmp.Width} px wide grid");
        // An explicit size is kept as given (the API's old behaviour).
        Assert.Equal(13f, new ImageGrid(columns: 6).PanelSize(200).Add(white, "HHHH").FontSize(13).RenderedFontSize);
        Assert.Equal(ImageGrid.DefaultFontSize, new ImageGrid().PanelSize(200).Add(white, "HHHH").RenderedFontSize);
    }

    [Fact]
    public void A_long_title_wraps_onto_more_lines_instead_of_being_cut()
    {
        Assert.NotNull(Fonts.Typeface);
        using var white = torch.ones(3, 100, 100);
        using var one = Decode(new ImageGrid().PanelSize(100).Add(white, "short").ToPng());
        using var two = Decode(new ImageGrid().PanelSize(100).Add(white, "channel 273, iteration 100").ToPng());
        int lineH = (int)MathF.Ceiling(13f * 1.4f);
        Assert.Equal(Margin + lineH + 100 + Margin, one.Height);
        Assert.Equal(Margin + 2 * lineH + 100 + Margin, two.Height);
        var rows = DarkRows(two, Margin, Margin + 100)!.Value;
        Assert.True(rows.Last > Margin + lineH, "nothing drawn on the second title line");
    }

    [Fact]
    public void This_machine_has_a_font_for_titles()
    {
        // The grid falls back to no titles without a font; on the development and CI machines we expect one.
        Assert.NotNull(Fonts.Typeface);
        Assert.True(Fonts.Typeface!.GlyphCount > 0);
    }

    [Fact]
    public void Bad_shapes_get_specific_errors()
    {
        using var batch = torch.zeros(2, 3, 4, 4);
        Assert.Contains("AddBatch", Assert.Throws<ArgumentException>(() => ImageGrid.Of(batch)).Message);
        using var hwc = torch.zeros(4, 4, 3);
        Assert.Contains("permute(2, 0, 1)", Assert.Throws<ArgumentException>(() => ImageGrid.Of(hwc)).Message);
        using var five = torch.zeros(5, 4, 4);
        Assert.Contains("[5, 4, 4]", Assert.Throws<ArgumentException>(() => ImageGrid.Of(five)).Message);
        using var rgb = torch.zeros(3, 4, 4);
        Assert.Contains("one channel", Assert.Throws<ArgumentException>(() => new ImageGrid().Heatmap(rgb)).Message);
        Assert.Throws<InvalidOperationException>(() => new ImageGrid().ToPng());
    }

    [Fact]
    public void Tensor_shorthands_give_the_same_png_as_the_grid()
    {
        using var t = torch.rand(3, 5, 5, generator: new torch.Generator(3));
        Assert.Equal(ImageGrid.Of(t, "x").ToPng(), t.AsImage("x").ToPng());
        using var m = torch.rand(5, 5, generator: new torch.Generator(4));
        Assert.Equal(new ImageGrid().Heatmap(m).ToPng(), m.AsHeatmap().ToPng());
    }

    [Fact]
    public void AddBatch_adds_one_panel_per_image()
    {
        using var batch = torch.rand(5, 3, 8, 8, generator: new torch.Generator(0));
        var grid = new ImageGrid(columns: 3).AddBatch(batch, ["a", "b"]);
        Assert.Equal(5, grid.Count);
        Assert.Equal(2, grid.RowCount);
    }
}
