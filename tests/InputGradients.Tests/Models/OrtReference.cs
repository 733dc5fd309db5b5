using InputGradients.Models.ImageNet;
using InputGradients.Models.Onnx;
using InputGradients.Models.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace InputGradients.Tests.Models;

/// <summary>
/// ONNX Runtime on the same ResNet-18 file, as the independent reference. Intermediate values are exposed
/// by writing a temporary copy of the model (with our protobuf classes) whose graph outputs are those values,
/// with symbolic batch/height/width so other sizes run; optionally without the final 7x7 average pool
/// (which needs layer4 to be at least 7x7).
/// </summary>
public sealed class OrtReference : IDisposable
{
    /// <summary>Our tap names -> the value names in the CNTK export (read off the graph's node list).</summary>
    public static readonly IReadOnlyDictionary<string, string> GraphNames = new Dictionary<string, string>
    {
        ["stem.relu"] = "ReLU253_Output_0",
        ["stem"] = "Pooling255_Output_0",
        ["layer1.0.relu1"] = "ReLU261_Output_0",
        ["layer1"] = "ReLU283_Output_0",
        ["layer2.0.pre_relu"] = "Plus299_Output_0",
        ["layer2"] = "ReLU315_Output_0",
        ["layer3.1.pre_relu"] = "Plus345_Output_0",
        ["layer3"] = "ReLU347_Output_0",
        ["layer4.1"] = "ReLU379_Output_0",
        ["layer4.pre_relu"] = "Plus391_Output_0",
        ["layer4"] = "ReLU393_Output_0",
        ["avgpool"] = "Pooling395_Output_0",
    };

    readonly List<string> _temp = new();
    public string ModelPath { get; } = ResNet18Files.ModelPath();
    public string PreprocessPath { get; } = ResNet18Files.PreprocessPath();

    /// <summary>A temp copy of the backbone graph with the given values as outputs and free N, H, W.</summary>
    public string WriteModel(IEnumerable<string> outputs, bool dropFinalPool)
    {
        var m = OnnxModel.Load(ModelPath).Clone();
        var g = m.Graph;
        var input = g.Input.Single(i => i.Name == "Input247");
        var dims = input.Type.TensorType.Shape.Dim;
        dims[0].DimParam = "N"; dims[2].DimParam = "H"; dims[3].DimParam = "W";
        if (dropFinalPool)
        {
            var pool = g.Node.Single(n => n.OpType == "AveragePool");
            g.Node.Remove(pool);
        }
        g.Output.Clear();
        foreach (var name in outputs)
            g.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } },
            });
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-taps-{Guid.NewGuid():N}.onnx");
        m.Save(path);
        _temp.Add(path);
        return path;
    }

    /// <summary>Runs a model on one float input; returns each output's values and shape.</summary>
    public static Dictionary<string, (float[] Data, long[] Shape)> Run(string modelPath, string inputName, Tensor x)
    {
        using var session = Session(modelPath);
        return Run(session, inputName, x);
    }

    /// <summary>A session on 2 threads; its shape-mismatch warnings (our outputs have free N, H, W) are silenced.</summary>
    public static InferenceSession Session(string modelPath)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        return new InferenceSession(modelPath, options);
    }

    public static Dictionary<string, (float[] Data, long[] Shape)> Run(InferenceSession session, string inputName, Tensor x)
    {
        var data = x.contiguous().data<float>().ToArray();
        var input = new DenseTensor<float>(data, x.shape.Select(d => (int)d).ToArray());
        using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor(inputName, input) });
        return results.ToDictionary(r => r.Name, r =>
        {
            var t = r.AsTensor<float>();
            return (t.ToArray(), t.Dimensions.ToArray().Select(d => (long)d).ToArray());
        });
    }

    /// <summary>A PNG/JPEG file as 1 x 3 x h x w RGB on 0-255, resized with bilinear sampling.</summary>
    public static Tensor LoadImage(string path, int width, int height)
    {
        using var original = SKBitmap.Decode(path) ?? throw new InvalidDataException($"cannot decode {path}");
        using var resized = original.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None))!;
        var rgba = resized.Bytes;
        var chw = new float[3 * height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                    chw[c * height * width + y * width + x] = rgba[(y * width + x) * 4 + c];
        return torch.tensor(chw, new long[] { 1, 3, height, width });
    }

    public static string RepoFile(params string[] parts) => Path.Combine([TestPaths.Root, .. parts]);

    /// <summary>Max absolute and max relative (|a-b| / max(|b|, 1e-3 * max|b|)) differences.</summary>
    public static (double Abs, double Rel, double MaxRef) Compare(Tensor ours, (float[] Data, long[] Shape) reference)
    {
        Assert.Equal(reference.Shape, ours.shape);
        var a = ours.contiguous().data<float>().ToArray();
        var b = reference.Data;
        double maxRef = b.Max(v => Math.Abs((double)v));
        double floor = Math.Max(1e-3 * maxRef, 1e-12);
        double abs = 0, rel = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            abs = Math.Max(abs, d);
            rel = Math.Max(rel, d / Math.Max(Math.Abs((double)b[i]), floor));
        }
        return (abs, rel, maxRef);
    }

    public void Dispose()
    {
        foreach (var p in _temp) try { File.Delete(p); } catch (IOException) { }
    }
}

/// <summary>One loaded backbone for all tests of a class (loading parses 64 MB).</summary>
public sealed class BackboneFixture : IDisposable
{
    public ResNet18Backbone Model { get; } = ResNet18Backbone.Load();
    public OrtReference Ort { get; } = new();
    public void Dispose() { Model.Dispose(); Ort.Dispose(); }
}
