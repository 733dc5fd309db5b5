using System.Globalization;
using InputGradients.Core;
using InputGradients.Experiments;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Experiments;

public class NotebookDataTests
{
    [Fact]
    public void Fashion_test_images_match_the_committed_labels_and_pngs()
    {
        var (x, y, names) = NotebookData.FashionMnistTest(5);
        Assert.Equal(new long[] { 5, 1, 28, 28 }, x.shape);
        // Independent source: labels.tsv (file, label, class name) and the PNGs beside it.
        var rows = File.ReadAllLines(TestPaths.Data("fashion-mnist", "labels.tsv"))
            .Select(l => l.Split('\t')).Where(c => c.Length >= 3 && c[0].EndsWith(".png")).Take(5).ToArray();
        Assert.Equal(rows.Select(r => long.Parse(r[1], CultureInfo.InvariantCulture)), y.data<long>().ToArray());
        Assert.Equal(rows.Select(r => r[2]), names);
        for (int i = 0; i < 5; i++) {
            using var bmp = SKBitmap.Decode(TestPaths.Data("fashion-mnist", rows[i][0]));
            var img = x[i, 0];
            foreach (var (r, c) in new[] { (0, 0), (14, 14), (20, 7), (27, 27) })
                Assert.Equal(bmp.GetPixel(c, r).Red / 255f, img[r, c].item<float>(), 6);
        }
    }

    [Fact]
    public void Fashion_count_out_of_range_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => NotebookData.FashionMnistTest(17));
        Assert.Contains("16", e.Message);
    }

    [Fact]
    public void Photos_are_resized_then_center_cropped_on_0_to_255()
    {
        var dir = Directory.CreateTempSubdirectory("ig-photos").FullName;
        try {
            // 300 wide, 200 high: left half red, right half blue. Resize(256) gives 384x256, CenterCrop(224)
            // keeps columns 80..303, so the crop's left 112 columns are red, the right 112 blue.
            var path = Path.Combine(dir, "halves.png");
            using (var bmp = new SKBitmap(300, 200)) {
                for (int r = 0; r < 200; r++)
                    for (int c = 0; c < 300; c++)
                        bmp.SetPixel(c, r, c < 150 ? new SKColor(255, 0, 0) : new SKColor(0, 0, 255));
                using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(path, data.ToArray());
            }
            using var x = NotebookData.Photos(new[] { path, path });
            Assert.Equal(new long[] { 2, 3, 224, 224 }, x.shape);
            Assert.Equal(255f, x[1, 0, 100, 50].item<float>(), 3);
            Assert.Equal(0f, x[1, 2, 100, 50].item<float>(), 3);
            Assert.Equal(255f, x[0, 2, 100, 200].item<float>(), 3);
            Assert.Equal(0f, x[0, 0, 100, 200].item<float>(), 3);
        } finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Photos_names_a_missing_file()
    {
        var e = Assert.Throws<FileNotFoundException>(() => NotebookData.Photos(new[] { "no-such-photo.jpg" }));
        Assert.Contains("no-such-photo.jpg", e.Message);
    }
}

public class ChannelObjectivesTests
{
    /// <summary>One 1x1 convolution 1 -> 3 channels with weights (1, -1, 2) and no bias, named "conv".</summary>
    static nn.Module<Tensor, Tensor> Model()
    {
        var conv = nn.Conv2d(1, 3, 1, bias: false);
        using (torch.no_grad()) conv.weight!.copy_(torch.tensor(new float[] { 1, -1, 2 }).view(3, 1, 1, 1));
        var m = nn.Sequential(("conv", conv), ("relu", nn.ReLU()));
        m.eval();
        return m;
    }

    [Fact]
    public void Channel_means_and_most_active_channels_by_hand()
    {
        var model = Model();
        // Example 0: all 2 -> means (2, -2, 4), order 2, 0, 1. Example 1: all -1 -> (-1, 1, -2), order 1, 0, 2.
        using var x = torch.cat(new[] { torch.full(1, 1, 4, 4, 2f), torch.full(1, 1, 4, 4, -1f) });
        using var means = ChannelObjectives.ChannelMeans(model, x, "conv");
        Assert.Equal(new float[] { 2, -2, 4, -1, 1, -2 }, means.data<float>().ToArray());
        Assert.Equal(new long[] { 2, 1 }, ChannelObjectives.MostActiveChannels(model, x, "conv"));
        var top = ChannelObjectives.TopChannels(model, x, "conv", 3);
        Assert.Equal(new long[] { 2, 0, 1 }, top[0]);
        Assert.Equal(new long[] { 1, 0, 2 }, top[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ChannelObjectives.TopChannels(model, x, "conv", 4));
    }

    [Fact]
    public void PerImage_gives_each_input_its_own_channel_target()
    {
        using var x = torch.arange(3f).view(3, 1, 1, 1);
        var seen = new List<string>();
        using var r = ChannelObjectives.PerImage(x, "layer4", new long[] { 7, 8, 9 }, (xi, t) => {
            seen.Add(t.ToString());
            Assert.Equal(1, xi.shape[0]);
            return xi * 10;
        });
        Assert.Equal(new[] { "mean of channel 7 of layer4", "mean of channel 8 of layer4", "mean of channel 9 of layer4" }, seen);
        Assert.Equal(new float[] { 0, 10, 20 }, r.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => ChannelObjectives.PerImage(x, "layer4", new long[] { 1 }, (xi, t) => xi));
    }

    [Fact]
    public void PerImage_channel_target_is_the_channel_mean_score()
    {
        // The target handed out must score the mean of that channel: gradient of mean(2x) w.r.t. x is 2/16.
        var model = Model();
        using var x = torch.full(1, 1, 4, 4, 1f);
        using var g = ChannelObjectives.PerImage(x, "conv", new long[] { 2 }, (xi, t) => new InputGradients.Attribution.Saliency(model) { Abs = false }.attribute(xi, t));
        Assert.All(g.data<float>().ToArray(), v => Assert.Equal(2f / 16, v, 6));
    }

    [Fact]
    public void ProgressReport_calls_at_once()
    {
        var got = new List<int>();
        IProgress<int> p = new ProgressReport<int>(got.Add);
        p.Report(1); p.Report(2);
        Assert.Equal(new[] { 1, 2 }, got);
    }
}
