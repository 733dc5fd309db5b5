namespace InputGradients.Data;

/// <summary>
/// Class names in class-index order, read from <c>data/classes/</c> (one class per line).
/// </summary>
public static class ClassNames
{
    /// <summary>
    /// The 1000 ImageNet (ILSVRC2012) classes in the standard index order (torchvision, Caffe): each entry is
    /// the full WordNet synonym list, e.g. <c>"tench, Tinca tinca"</c>; see <see cref="Short"/>.
    /// </summary>
    public static IReadOnlyList<string> ImageNet(string? path = null) =>
        Read(path ?? DataDirectory.Path("classes", "imagenet.txt"), expected: 1000);

    /// <summary>The 10 Fashion-MNIST classes, label 0 ("T-shirt/top") to 9 ("Ankle boot").</summary>
    public static IReadOnlyList<string> FashionMnist(string? path = null) =>
        Read(path ?? DataDirectory.Path("classes", "fashion-mnist.txt"), expected: 10);

    /// <summary>The first synonym of a WordNet-style name: "tench, Tinca tinca" gives "tench".</summary>
    public static string Short(string name)
    {
        int comma = name.IndexOf(',');
        return comma < 0 ? name : name[..comma];
    }

    /// <summary>Reads one name per line (blank trailing lines ignored), checking the count when given.</summary>
    public static IReadOnlyList<string> Read(string path, int? expected = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"class-name file not found: {path}", path);
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        int empty = lines.FindIndex(l => l.Length == 0);
        if (empty >= 0)
            throw new InvalidDataException($"{path}: line {empty + 1} is empty (one class name per line expected)");
        if (expected is int n && lines.Count != n)
            throw new InvalidDataException($"{path}: {lines.Count} class names, expected {n}");
        return lines;
    }
}
