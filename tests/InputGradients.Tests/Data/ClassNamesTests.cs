using InputGradients.Data;

namespace InputGradients.Tests.Data;

public class ClassNamesTests
{
    [Fact]
    public void ImageNetNamesAreInTheStandardIndexOrder()
    {
        var names = ClassNames.ImageNet();
        Assert.Equal(1000, names.Count);
        // Known entries of the ILSVRC2012 class index used by torchvision (index: first synonym).
        Assert.Equal("tench", ClassNames.Short(names[0]));
        Assert.Equal("stingray", ClassNames.Short(names[6]));
        Assert.Equal("tarantula", ClassNames.Short(names[76]));
        Assert.Equal("Yorkshire terrier", ClassNames.Short(names[187]));
        Assert.Equal("gorilla", ClassNames.Short(names[366]));
        Assert.Equal("oboe", ClassNames.Short(names[683]));
        Assert.Equal("toilet tissue", ClassNames.Short(names[999]));
    }

    [Fact]
    public void FashionMnistNamesMatchZalandosTable()
    {
        Assert.Equal(
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
            ClassNames.FashionMnist());
        Assert.Equal(ClassNames.FashionMnist(), FashionMnist.ClassNames);
    }

    [Fact]
    public void BadClassFilesAreRejectedNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"classes-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(path, "a\nb\n");
            var e = Assert.Throws<InvalidDataException>(() => ClassNames.Read(path, expected: 3));
            Assert.Contains(path, e.Message);
            File.WriteAllText(path, "a\n\nb\n");
            Assert.Contains("line 2", Assert.Throws<InvalidDataException>(() => ClassNames.Read(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<FileNotFoundException>(() => ClassNames.Read(path));
    }

    [Fact]
    public void DataSourcesListEveryCommittedImage()
    {
        var data = DataDirectory.Find();
        var listed = File.ReadAllLines(Path.Combine(data, "sources.tsv")).Skip(1)
            .Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f);
        foreach (var folder in new[] { "images", "styles" })
            foreach (var file in Directory.GetFiles(Path.Combine(data, folder)).Where(f => !f.EndsWith(".md")))
            {
                var key = folder + "/" + Path.GetFileName(file);
                Assert.True(listed.ContainsKey(key), $"{key} has no line in data/sources.tsv");
                // Unchanged from the package: same size and SHA-256 as recorded.
                var bytes = File.ReadAllBytes(file);
                Assert.Equal(listed[key][4], bytes.Length.ToString());
                Assert.Equal(listed[key][5], Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
            }
        Assert.InRange(Directory.GetFiles(Path.Combine(data, "images")).Count(f => !f.EndsWith(".md")), 10, 25);
        Assert.True(Directory.GetFiles(Path.Combine(data, "styles")).Count(f => !f.EndsWith(".md")) >= 3);
    }
}
