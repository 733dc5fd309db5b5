using InputGradients.Experiments;
using InputGradients.Imaging;
using InputGradients.Tests.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace InputGradients.Tests.Experiments;

/// <summary>
/// Nearest neighbours by ResNet-18 features: cosine similarity and top-k against explicit double-precision loops,
/// embeddings against ONNX Runtime running the same graph, and the crop/flip robustness on the committed photos.
/// </summary>
public sealed class NeighboursTests(BackboneFixture fx, ITestOutputHelper output) : IClassFixture<BackboneFixture>
{
    static double[] Row(float[] data, int i, int d) => data.Skip(i * d).Take(d).Select(v => (double)v).ToArray();

    static double Cosine(double[] a, double[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int k = 0; k < a.Length; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
        return na == 0 || nb == 0 ? 0 : dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }

    [Fact]
    public void Cosine_similarity_equals_explicit_double_loops()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(42);
        // Non-negative features like pooled ReLU outputs, plus one signed set and a zero row.
        var a = rand(new long[] { 5, 37 }, generator: g) * 3;
        var b = randn(new long[] { 4, 37 }, generator: g);
        b[2] = zeros(37);
        var ours = Neighbours.CosineSimilarity(a, b);
        Assert.Equal(new long[] { 5, 4 }, ours.shape);
        var av = a.data<float>().ToArray(); var bv = b.data<float>().ToArray(); var ov = ours.data<float>().ToArray();
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++)
            {
                double expected = Cosine(Row(av, i, 37), Row(bv, j, 37));
                Assert.True(Math.Abs(ov[i * 4 + j] - expected) < 1e-6, $"({i},{j}): {ov[i * 4 + j]} vs {expected}");
            }
        var self = Neighbours.CosineSimilarity(a);
        for (int i = 0; i < 5; i++) Assert.Equal(1.0, self[i, i].item<float>(), 5);
    }

    [Fact]
    public void TopK_equals_a_brute_force_ranking_and_can_leave_out_self()
    {
        // A hand-made matrix with a tie in row 1 (columns 0 and 3 both 0.5: the lower index comes first).
        var s = tensor(new double[,]
        {
            { 1.0, 0.2, 0.9, -0.1 },
            { 0.5, 1.0, 0.1, 0.5 },
            { 0.9, 0.1, 1.0, 0.3 },
            { -0.1, 0.5, 0.3, 1.0 },
        });
        var top = Neighbours.TopK(s, 2);
        Assert.Equal(new[] { 0, 2 }, top[0].Select(n => n.Index));
        Assert.Equal(new[] { 1, 0 }, top[1].Select(n => n.Index));
        var noSelf = Neighbours.TopK(s, 2, excludeSelf: true);
        Assert.Equal(new[] { 2, 1 }, noSelf[0].Select(n => n.Index));
        Assert.Equal(new[] { 0, 3 }, noSelf[1].Select(n => n.Index));
        Assert.Equal(new[] { 0, 3 }, noSelf[2].Select(n => n.Index));
        Assert.Equal(new[] { 1, 2 }, noSelf[3].Select(n => n.Index));
        Assert.Equal(0.9, noSelf[0][0].Similarity, 12);

        // Random matrix: same as sorting each row's (value, index) pairs by hand.
        using var r = rand(new long[] { 6, 9 }, generator: new Generator(3), dtype: ScalarType.Float64);
        var v = r.data<double>().ToArray();
        var got = Neighbours.TopK(r, 4);
        for (int i = 0; i < 6; i++)
        {
            var expected = Enumerable.Range(0, 9).Select(j => (j, v[i * 9 + j])).ToList();
            expected.Sort((x, y) => y.Item2.CompareTo(x.Item2));
            Assert.Equal(expected.Take(4).Select(e => e.j), got[i].Select(n => n.Index));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Neighbours.TopK(s, 4, excludeSelf: true));
        Assert.Throws<ArgumentException>(() => Neighbours.TopK(r, 2, excludeSelf: true));
    }

    [Fact]
    public void FindSources_counts_queries_whose_nearest_item_is_their_own()
    {
        var gallery = tensor(new float[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } });
        // Query 0 is near item 0, query 1 near item 2 (a miss), query 2 near item 2.
        var query = tensor(new float[,] { { 0.9f, 0.1f, 0 }, { 0, 0.2f, 1 }, { 0.1f, 0, 1 } });
        var m = Neighbours.FindSources(gallery, query);
        Assert.Equal(new[] { 0, 2, 2 }, m.Nearest);
        Assert.Equal(2, m.Found);
        Assert.Equal(new[] { 1 }, m.Missed);
        Assert.Equal(0.2 / Math.Sqrt(1.04), m.SourceSimilarity[1], 6);
    }

    [Fact]
    public void Prepare_is_resize_256_then_centre_crop_224()
    {
        using var scope = NewDisposeScope();
        var img = rand(new long[] { 3, 300, 400 }, generator: new Generator(5)) * 255;
        var p = Neighbours.Prepare(img);
        Assert.Equal(new long[] { 3, 224, 224 }, p.shape);
        // Resize(256) of 300x400 is 256x341; centre crop offsets round((256-224)/2) = 16 and round(117/2) = 58 (half to even).
        var resized = Transforms.Resize(img, 256, 341);
        Assert.True(allclose(p, resized.narrow(1, 16, 224).narrow(2, 58, 224)));
        var crop = Neighbours.RandomCrop(img, 0.7, new Generator(1));
        Assert.Equal(new long[] { 3, 210, 280 }, crop.shape);
        var again = Neighbours.RandomCrop(img, 0.7, new Generator(1));
        Assert.True(allclose(crop, again, 0, 0), "same seed, same crop");
    }

    [Fact]
    public void Embeddings_match_onnx_runtime_on_photos()
    {
        using var scope = NewDisposeScope();
        var photos = NotebookData.Photos(["chelsea.png", "coffee.png", "giraffe.jpg"]);
        var ours = Neighbours.Embed(fx.Model, photos, batchSize: 2);
        Assert.Equal(new long[] { 3, 512 }, ours.shape);
        using var session = OrtReference.Session(fx.Ort.ModelPath);
        for (int i = 0; i < 3; i++)
        {
            // The graph's own input: the same BGR-minus-mean image, one at a time (its input is 1x3x224x224).
            var x = fx.Model.Preprocess(photos.narrow(0, i, 1));
            var reference = OrtReference.Run(session, "Input247", x)["Pooling395_Output_0"];
            var (abs, _, maxRef) = OrtReference.Compare(ours[i].reshape(1, 512, 1, 1), reference);
            output.WriteLine($"photo {i}: max |ORT| {maxRef:G4}, max abs diff {abs:E2}");
            Assert.True(abs < 1e-4, $"photo {i}: {abs:E3}");
        }
    }

    /// <summary>The 20 committed photos (data/images), sorted by name.</summary>
    static string[] Photos() => Directory.GetFiles(TestPaths.Data("images"))
        .Where(p => p.EndsWith(".jpg") || p.EndsWith(".png")).OrderBy(p => p, StringComparer.Ordinal).ToArray();

    [Fact]
    public void Flips_and_crops_of_the_committed_photos_find_their_source()
    {
        using var scope = NewDisposeScope();
        var paths = Photos();
        Assert.Equal(20, paths.Length);
        var originals = paths.Select(p => ImageIO.Load(p, PixelScale.Byte)).ToArray();
        var gallery = Neighbours.Embed(fx.Model, stack(originals.Select(o => Neighbours.Prepare(o)).ToArray()));
        var g = new Generator(2024);
        var flipMatch = Neighbours.FindSourcesOfAltered(fx.Model, originals, Neighbours.HorizontalFlip, gallery);
        var cropMatch = Neighbours.FindSourcesOfAltered(fx.Model, originals, o => Neighbours.RandomCrop(o, 0.5, g), gallery);
        string Report(string what, SourceMatch m) => $"{what}: {m}; missed {string.Join(", ", m.Missed.Select(i =>
            $"{Path.GetFileName(paths[i])} -> {Path.GetFileName(paths[m.Nearest[i]])} ({m.Similarity[i]:F3} vs own {m.SourceSimilarity[i]:F3})"))}";
        output.WriteLine(Report("flips", flipMatch));
        output.WriteLine(Report("crops 50%", cropMatch));
        output.WriteLine($"similarity to source: flips min {flipMatch.SourceSimilarity.Min():F3}, crops min {cropMatch.SourceSimilarity.Min():F3}");
        Assert.True(flipMatch.Found >= FlipBound, Report("flips", flipMatch));
        Assert.True(cropMatch.Found >= CropBound, Report("crops", cropMatch));
    }

    // Measured (2026-11-27): flips 20 of 20 (lowest similarity of a flip to its
    // source 0.928). Crops keeping 50% of each side (a quarter of the area) at seed 2024: 20 of 20; seeds 1, 2, 3
    // gave 20, 19, 20 (the miss: a crop of orange.jpg nearest to apple.jpg). At 40% it was 18-20, at 30% 16-18.
    // The bounds leave one flip and two crops of slack for float differences between machines and thread counts.
    const int FlipBound = 19, CropBound = 18;
}
