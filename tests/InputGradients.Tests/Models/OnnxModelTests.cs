using InputGradients.Models.ImageNet;
using InputGradients.Models.Onnx;

namespace InputGradients.Tests.Models;

/// <summary>The protobuf ONNX reader: what it reads, and its errors for damaged files.</summary>
public sealed class OnnxModelTests : IDisposable
{
    readonly List<string> _temp = new();

    string Temp(byte[] bytes)
    {
        var p = Path.Combine(Path.GetTempPath(), $"damaged-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(p, bytes);
        _temp.Add(p);
        return p;
    }

    public void Dispose() { foreach (var p in _temp) File.Delete(p); }

    [Fact]
    public void Reads_the_cntk_export()
    {
        var m = OnnxModel.Load(ResNet18Files.ModelPath());
        Assert.Equal(3, m.Proto.IrVersion);
        Assert.Equal(8, m.DefaultOpsetVersion);
        Assert.Equal("CNTK", m.Proto.ProducerName);
        Assert.Equal(74, m.Graph.Node.Count);
        Assert.Equal(110, m.Graph.Initializer.Count);
        var input = Assert.Single(m.RealInputs);
        Assert.Equal("Input247", input.Name);
        Assert.Equal(new long[] { 1, 3, 224, 224 }, input.Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        var stem = m.Graph.Node[0];
        Assert.Equal(new long[] { 3, 3, 2, 2 }, stem.Ints("pads"));
        Assert.Equal(new long[] { 64, 3, 7, 7 }, m.Shape(stem.Input[1]));
        Assert.Equal(64 * 3 * 7 * 7, m.FloatData(stem.Input[1]).Length);
    }

    [Fact]
    public void Truncated_file_gives_a_clear_error_naming_it()
    {
        var bytes = File.ReadAllBytes(ResNet18Files.ModelPath());
        var path = Temp(bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Throws<OnnxFormatException>(() => ResNet18Backbone.Load(path, ResNet18Files.PreprocessPath()));
    }

    [Fact]
    public void Cut_files_never_load_silently()
    {
        // Cuts at several places: either the parser fails, or the graph is visibly incomplete.
        var bytes = File.ReadAllBytes(ResNet18Files.ModelPath());
        foreach (var fraction in new[] { 0.0001, 0.01, 0.3, 0.999, 0.99999 })
        {
            var path = Temp(bytes[..(int)(bytes.Length * fraction)]);
            var e = Assert.ThrowsAny<Exception>(() => ResNet18Backbone.Load(path, ResNet18Files.PreprocessPath()));
            Assert.True(e is OnnxFormatException, $"cut at {fraction}: {e.GetType().Name}: {e.Message}");
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void Not_an_onnx_file_and_missing_file()
    {
        var png = Temp(File.ReadAllBytes(OrtReference.RepoFile("data", "images", "chelsea.png")));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(png));
        Assert.Contains(png, e.Message);
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(Temp(Array.Empty<byte>())));
        var missing = Path.Combine(Path.GetTempPath(), "no-such-model.onnx");
        var f = Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(missing));
        Assert.Contains(missing, f.Message);
        var d = Assert.Throws<FileNotFoundException>(() => ResNet18Files.ModelPath(Path.GetTempPath()));
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", d.Message);
    }

    [Fact]
    public void Unexpected_operator_is_named()
    {
        var m = OnnxModel.Load(ResNet18Files.ModelPath()).Clone();
        m.Graph.Node.First(n => n.OpType == "Relu").OpType = "Sigmoid";
        var path = Path.Combine(Path.GetTempPath(), $"sigmoid-{Guid.NewGuid():N}.onnx");
        _temp.Add(path);
        m.Save(path);
        var e = Assert.Throws<OnnxFormatException>(() => ResNet18Backbone.Load(path, ResNet18Files.PreprocessPath()));
        Assert.Contains("Sigmoid", e.Message);
    }
}
