using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; Zalando, MIT licence): 28x28 grey images of 10 clothing classes.
/// Images come back as float32 tensors (N,1,28,28) in 0-1 and labels as int64 (N).
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's package <c>dataset-fashion-mnist</c> installs the files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names in label order, as given by Zalando's README.</summary>
    public static readonly IReadOnlyList<string> ClassNames =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    /// <summary>True if the four IDX files are in <paramref name="directory"/> (default: Debian's location).</summary>
    public static bool IsAvailable(string? directory = null)
    {
        directory ??= DebianDirectory;
        return new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
            .All(f => FindFile(directory, f) is not null);
    }

    /// <summary>
    /// Loads the 60,000 training or 10,000 test examples from <c>{prefix}-images-idx3-ubyte[.gz]</c> and
    /// <c>{prefix}-labels-idx1-ubyte[.gz]</c>; the prefix defaults to "train" or "t10k"
    /// (the committed samples use "t10k-first16" in <c>data/fashion-mnist/</c>).
    /// </summary>
    public static (Tensor Images, Tensor Labels) Load(bool train, string? directory = null, string? prefix = null)
    {
        directory ??= DebianDirectory;
        prefix ??= train ? "train" : "t10k";
        string images = FindFile(directory, $"{prefix}-images-idx3-ubyte")
            ?? throw new FileNotFoundException(
                $"Fashion-MNIST {prefix}-images-idx3-ubyte[.gz] not found in {directory} " +
                "(install the Debian package dataset-fashion-mnist, or pass the directory holding the IDX files)");
        string labels = FindFile(directory, $"{prefix}-labels-idx1-ubyte")
            ?? throw new FileNotFoundException($"Fashion-MNIST {prefix}-labels-idx1-ubyte[.gz] not found in {directory}");
        return FromIdx(Idx.Read(images), Idx.Read(labels), images, labels);
    }

    /// <summary>
    /// The 16 test images committed under <c>data/fashion-mnist/</c> (the first 16 of the test set), usable
    /// without the dataset package: images (16,1,28,28) on 0-1 and labels (16).
    /// </summary>
    public static (Tensor Images, Tensor Labels) LoadSamples() =>
        Load(train: false, DataDirectory.Path("fashion-mnist"), prefix: "t10k-first16");

    /// <summary>Turns an IDX image array (N,H,W) and label array (N) into tensors, checking they fit together.</summary>
    public static (Tensor Images, Tensor Labels) FromIdx(IdxArray images, IdxArray labels, string imagesName, string labelsName)
    {
        if (images.Shape.Length != 3)
            throw new InvalidDataException($"{imagesName}: expected a 3-dimensional IDX array (N,H,W), got [{string.Join(",", images.Shape)}]");
        if (labels.Shape.Length != 1)
            throw new InvalidDataException($"{labelsName}: expected a 1-dimensional IDX array (N), got [{string.Join(",", labels.Shape)}]");
        if (images.Shape[0] != labels.Shape[0])
            throw new InvalidDataException($"{imagesName} has {images.Shape[0]} images but {labelsName} has {labels.Shape[0]} labels");
        int bad = Array.FindIndex(labels.Data, b => b > 9);
        if (bad >= 0)
            throw new InvalidDataException($"{labelsName}: label {labels.Data[bad]} at index {bad} is outside 0-9");

        using var scope = NewDisposeScope();
        var x = tensor(images.Data, [images.Shape[0], 1, images.Shape[1], images.Shape[2]], ScalarType.Byte)
            .to_type(ScalarType.Float32).div_scalar_(255);
        var y = tensor(labels.Data, [labels.Shape[0]], ScalarType.Byte).to_type(ScalarType.Int64);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Writes the first <paramref name="count"/> test images as PNGs (<c>test-00.png</c>, ...), a <c>labels.tsv</c>
    /// (file, label, class name) and the same images as an IDX pair <c>t10k-first{count}-*-ubyte</c>.
    /// </summary>
    public static void ExportSamples(string outDirectory, int count = 16, string? directory = null)
    {
        directory ??= DebianDirectory;
        var images = Idx.Read(FindFile(directory, "t10k-images-idx3-ubyte")
            ?? throw new FileNotFoundException($"Fashion-MNIST t10k-images-idx3-ubyte[.gz] not found in {directory}"));
        var labels = Idx.Read(FindFile(directory, "t10k-labels-idx1-ubyte")
            ?? throw new FileNotFoundException($"Fashion-MNIST t10k-labels-idx1-ubyte[.gz] not found in {directory}"));
        int h = images.Shape[1], w = images.Shape[2];
        Directory.CreateDirectory(outDirectory);
        Idx.Write(Path.Combine(outDirectory, $"t10k-first{count}-images-idx3-ubyte"), [count, h, w], images.Data.AsSpan(0, count * h * w));
        Idx.Write(Path.Combine(outDirectory, $"t10k-first{count}-labels-idx1-ubyte"), [count], labels.Data.AsSpan(0, count));
        var tsv = new List<string> { "file\tlabel\tclass" };
        for (int i = 0; i < count; i++)
        {
            string file = $"test-{i:D2}.png";
            using var img = tensor(images.Data[(i * h * w)..((i + 1) * h * w)], [1, h, w], ScalarType.Byte).to_type(ScalarType.Float32);
            Imaging.ImageIO.SavePng(img, Path.Combine(outDirectory, file), Imaging.PixelScale.Byte);
            tsv.Add($"{file}\t{labels.Data[i]}\t{ClassNames[labels.Data[i]]}");
        }
        File.WriteAllLines(Path.Combine(outDirectory, "labels.tsv"), tsv);
    }

    static string? FindFile(string directory, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name })
        {
            var p = Path.Combine(directory, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
