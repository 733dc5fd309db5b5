using InputGradients.Imaging;
using InputGradients.Models.ImageNet;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>One entry of a nearest-neighbour list: the gallery index and its cosine similarity to the query.</summary>
public readonly record struct Neighbour(int Index, double Similarity);

/// <summary>Where each query's nearest gallery item is, and how many queries found their own source.</summary>
/// <param name="Nearest">For query i, the index of the most similar gallery item.</param>
/// <param name="Similarity">For query i, its cosine similarity to that item.</param>
/// <param name="SourceSimilarity">For query i, its cosine similarity to its own source (gallery item i).</param>
public sealed record SourceMatch(int[] Nearest, double[] Similarity, double[] SourceSimilarity)
{
    /// <summary>Number of queries whose nearest gallery item is their source.</summary>
    public int Found => Nearest.Where((n, i) => n == i).Count();

    /// <summary>Number of queries.</summary>
    public int Total => Nearest.Length;

    /// <summary>Indices of the queries whose nearest item is another one.</summary>
    public int[] Missed => Enumerable.Range(0, Total).Where(i => Nearest[i] != i).ToArray();

    public override string ToString() => $"{Found} of {Total} find their source";
}

/// <summary>
/// Nearest neighbours of photos in the feature space of the ImageNet ResNet-18 backbone (its 512 pooled
/// features): torchvision-style evaluation crops (<see cref="Prepare"/>), embeddings (<see cref="Embed"/>),
/// cosine similarities (<see cref="CosineSimilarity(Tensor, Tensor)"/>), the k nearest (<see cref="TopK"/>),
/// and the check that a crop or a mirror image of a photo still finds the photo (<see cref="FindSources"/>).
/// </summary>
public static class Neighbours
{
    /// <summary>Side of the square network input (torchvision's evaluation crop).</summary>
    public const int CropSize = 224;

    /// <summary>Shorter side after resizing, before the centre crop (torchvision's <c>Resize(256)</c>).</summary>
    public const int ResizeSize = 256;

    /// <summary>
    /// torchvision's evaluation transform without the normalisation: <c>Resize(resize)</c> (shorter side, bilinear
    /// with antialias) then <c>CenterCrop(crop)</c>. Input (3,H,W) or (N,3,H,W) on any scale; the scale is kept.
    /// </summary>
    public static Tensor Prepare(Tensor image, int crop = CropSize, int resize = ResizeSize)
    {
        if (image.dim() is not (3 or 4) || image.shape[^3] != 3)
            throw new ArgumentException($"Prepare expects an RGB image (3,H,W) or batch (N,3,H,W), got [{string.Join(", ", image.shape)}].", nameof(image));
        if (resize < crop)
            throw new ArgumentException($"Prepare: resize {resize} is smaller than the crop {crop}.", nameof(resize));
        using var scope = NewDisposeScope();
        return Transforms.CenterCrop(Transforms.Resize(image, resize), crop).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The backbone's pooled features (N,512) of RGB images (N,3,H,W) on 0-255, computed without gradients in
    /// batches of <paramref name="batchSize"/>, reporting (done, total) images after each batch.
    /// The backbone's own <see cref="ResNet18Backbone.Preprocess"/> (BGR minus channel means) is applied here.
    /// </summary>
    public static Tensor Embed(ResNet18Backbone net, Tensor rgb0to255, int batchSize = 8, IProgress<(int Done, int Total)>? progress = null)
    {
        if (rgb0to255.dim() != 4 || rgb0to255.shape[1] != 3)
            throw new ArgumentException($"Embed expects RGB images (N,3,H,W) on 0-255, got [{string.Join(", ", rgb0to255.shape)}].", nameof(rgb0to255));
        return Batched.Map(rgb0to255, batchSize, batch => net.call(net.Preprocess(batch)), progress);
    }

    /// <summary>
    /// Cosine similarities (N,M) between the rows of <paramref name="a"/> (N,D) and of <paramref name="b"/> (M,D):
    /// a_i·b_j / (|a_i| |b_j|). A zero row has similarity 0 to everything.
    /// </summary>
    public static Tensor CosineSimilarity(Tensor a, Tensor b)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1])
            throw new ArgumentException($"CosineSimilarity expects two matrices (N,D) and (M,D) with the same D, got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        using var scope = NewDisposeScope();
        // Dividing by max(|x|, eps) makes a zero row a zero vector, so its similarities are 0, not NaN.
        var an = nn.functional.normalize(a, p: 2, dim: 1, eps: 1e-12);
        var bn = nn.functional.normalize(b, p: 2, dim: 1, eps: 1e-12);
        return matmul(an, bn.t()).MoveToOuterDisposeScope();
    }

    /// <summary>Cosine similarities (N,N) between the rows of <paramref name="x"/>; the diagonal is 1 for non-zero rows.</summary>
    public static Tensor CosineSimilarity(Tensor x) => CosineSimilarity(x, x);

    /// <summary>
    /// For each row of a similarity matrix (N,M), the <paramref name="k"/> most similar columns, most similar first
    /// (ties: lower index first). With <paramref name="excludeSelf"/> (a square matrix of a set against itself),
    /// column i is left out of row i's list.
    /// </summary>
    public static Neighbour[][] TopK(Tensor similarity, int k, bool excludeSelf = false)
    {
        if (similarity.dim() != 2)
            throw new ArgumentException($"TopK expects a similarity matrix (N,M), got [{string.Join(", ", similarity.shape)}].", nameof(similarity));
        int n = (int)similarity.shape[0], m = (int)similarity.shape[1];
        if (excludeSelf && n != m)
            throw new ArgumentException($"TopK with excludeSelf needs a square matrix, got {n} x {m}.", nameof(excludeSelf));
        int available = excludeSelf ? m - 1 : m;
        if (k < 1 || k > available)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and {available} for a {n} x {m} matrix{(excludeSelf ? " without self-matches" : "")}");
        using var cpu = similarity.detach().cpu().to_type(ScalarType.Float64);
        var values = cpu.data<double>().ToArray();
        var result = new Neighbour[n][];
        for (int i = 0; i < n; i++)
        {
            int row = i;
            // A stable sort by descending similarity keeps lower indices first among ties.
            result[i] = Enumerable.Range(0, m)
                .Where(j => !(excludeSelf && j == row))
                .OrderByDescending(j => values[row * m + j])
                .Take(k)
                .Select(j => new Neighbour(j, values[row * m + j]))
                .ToArray();
        }
        return result;
    }

    /// <summary>
    /// For queries that are altered copies of the gallery (query i made from gallery item i, same count), the
    /// nearest gallery item of each query by cosine similarity of the features (N,D) each.
    /// </summary>
    public static SourceMatch FindSources(Tensor galleryFeatures, Tensor queryFeatures)
    {
        if (galleryFeatures.dim() != 2 || queryFeatures.dim() != 2 || galleryFeatures.shape[0] != queryFeatures.shape[0])
            throw new ArgumentException($"FindSources expects gallery and query features (N,D) with query i made from gallery item i, got [{string.Join(", ", galleryFeatures.shape)}] and [{string.Join(", ", queryFeatures.shape)}].");
        using var sim = CosineSimilarity(queryFeatures, galleryFeatures);
        var top = TopK(sim, 1);
        int n = top.Length;
        using var cpu = sim.detach().cpu().to_type(ScalarType.Float64);
        var values = cpu.data<double>().ToArray();
        return new SourceMatch(
            top.Select(t => t[0].Index).ToArray(),
            top.Select(t => t[0].Similarity).ToArray(),
            Enumerable.Range(0, n).Select(i => values[i * n + i]).ToArray());
    }

    /// <summary>
    /// The robustness check: alters each original photo (3,H,W on 0-255, full size) with <paramref name="alter"/>
    /// (a crop, a flip...), <see cref="Prepare"/>s originals and altered copies alike, embeds both and reports which
    /// altered copies have their own original as nearest neighbour. <paramref name="galleryFeatures"/> (N,512) are
    /// the originals' features if already computed.
    /// </summary>
    public static SourceMatch FindSourcesOfAltered(ResNet18Backbone net, IReadOnlyList<Tensor> originals, Func<Tensor, Tensor> alter,
        Tensor? galleryFeatures = null, IProgress<(int Done, int Total)>? progress = null)
    {
        if (originals.Count == 0) throw new ArgumentException("FindSourcesOfAltered: no images given.", nameof(originals));
        using var scope = NewDisposeScope();
        var gallery = galleryFeatures ?? Embed(net, stack(originals.Select(o => Prepare(o)).ToArray()));
        var altered = stack(originals.Select(o => Prepare(alter(o))).ToArray());
        var queries = Embed(net, altered, progress: progress);
        return FindSources(gallery, queries);
    }

    /// <summary>A mirror image (left-right) of images (...,C,H,W).</summary>
    public static Tensor HorizontalFlip(Tensor image) => image.flip(-1);

    /// <summary>
    /// A crop keeping <paramref name="fraction"/> of the height and of the width of an image (3,H,W), at a random
    /// position drawn from <paramref name="generator"/> (seed it for repeatable crops). The crop keeps the
    /// original resolution; <see cref="Prepare"/> it afterwards to get a network input.
    /// </summary>
    public static Tensor RandomCrop(Tensor image, double fraction, Generator generator)
    {
        if (image.dim() != 3)
            throw new ArgumentException($"RandomCrop expects one image (C,H,W), got [{string.Join(", ", image.shape)}].", nameof(image));
        if (!(fraction > 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the kept fraction must be in (0, 1]");
        long h = image.shape[1], w = image.shape[2];
        long ch = Math.Max(1, (long)Math.Round(h * fraction)), cw = Math.Max(1, (long)Math.Round(w * fraction));
        long top = torch.randint(0, h - ch + 1, new long[] { 1 }, generator: generator).item<long>();
        long left = torch.randint(0, w - cw + 1, new long[] { 1 }, generator: generator).item<long>();
        return image.narrow(1, top, ch).narrow(2, left, cw).clone();
    }
}
