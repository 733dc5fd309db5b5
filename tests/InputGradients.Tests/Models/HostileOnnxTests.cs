using Google.Protobuf;
using InputGradients.Core;
using InputGradients.Models.ImageNet;
using InputGradients.Models.Onnx;
using InputGradients.Models.Onnx.Proto;

namespace InputGradients.Tests.Models;

/// <summary>
/// Hostile ONNX files, made by editing the real backbone and preprocessing graphs (or from scratch): cycles, sizes
/// that overflow, missing data and missing inputs must give one clear error naming the file, never a hang, a NaN or
/// an exception from inside protobuf or libtorch.
/// </summary>
public sealed class HostileOnnxTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hostile-onnx-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Save(OnnxModel m, string name)
    {
        var path = Path.Combine(_dir, name);
        m.Save(path);
        return path;
    }

    static OnnxModel Backbone() => OnnxModel.Load(ResNet18Files.ModelPath()).Clone();
    static OnnxModel Preprocessing() => OnnxModel.Load(ResNet18Files.PreprocessPath()).Clone();

    /// <summary>Loads on a worker with a time limit, so a hang fails the test instead of stalling the run.</summary>
    static OnnxFormatException LoadFails(string model, string prep)
    {
        var task = Task.Run(() => ResNet18Backbone.Load(model, prep));
        Assert.True(((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(60)), "the loader did not finish in 60 s");
        return Assert.IsType<OnnxFormatException>(task.Exception?.InnerException, exactMatch: true);
    }

    [Fact]
    public void A_block_that_feeds_back_into_itself_is_refused_not_looped()
    {
        var m = Backbone();
        // The first residual block's output ReLU writes the block's own input (the max pool's output).
        var pool = m.Graph.Node.First(n => n.OpType == "MaxPool");
        var firstAdd = m.Graph.Node.First(n => n.OpType == "Add");
        var relu = m.Consumers(firstAdd.Output[0]).Single();
        relu.Output[0] = pool.Output[0];
        var path = Save(m, "feedback.onnx");
        var e = LoadFails(path, ResNet18Files.PreprocessPath());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("is produced by two nodes", e.Message);
    }

    [Fact]
    public void A_cycle_is_refused_when_the_file_is_read()
    {
        var graph = new GraphProto { Name = "cycle" };
        graph.Input.Add(new ValueInfoProto { Name = "x" });
        graph.Node.Add(new NodeProto { Name = "a", OpType = "Add", Input = { "x", "b" }, Output = { "a" } });
        graph.Node.Add(new NodeProto { Name = "b", OpType = "Relu", Input = { "a" }, Output = { "b" } });
        var proto = new ModelProto { IrVersion = 8, Graph = graph };
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(proto.ToByteArray(), "cycle.onnx"));
        Assert.Equal("cycle.onnx: the graph has a cycle (node 'a' (Add) depends on its own output); an ONNX graph must not.", e.Message);
    }

    [Fact]
    public void Dimensions_whose_product_overflows_are_refused_before_libtorch_sees_them()
    {
        var m = Backbone();
        var w = m.Initializer(m.Graph.Node[0].Input[1]);
        w.Dims.Clear();
        w.Dims.Add([1L << 62, 4, 1, 1]); // 2^64 floats' worth of bytes wraps to 0 in 64 bits ...
        w.RawData = ByteString.Empty;    // ... which used to match empty data
        var path = Save(m, "overflow.onnx");
        var e = LoadFails(path, ResNet18Files.PreprocessPath());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("of shape [4611686018427387904, 4, 1, 1] needs more than the 2147483648 bytes allowed for one tensor (LoadLimits.MaxTensorBytes)", e.Message);
        var small = OnnxModel.Load(ResNet18Files.ModelPath(), LoadLimits.Default with { MaxTensorBytes = 1000 });
        Assert.Throws<OnnxFormatException>(() => small.FloatData(small.Graph.Node[0].Input[1]));
    }

    [Fact]
    public void Window_sizes_beyond_any_network_are_refused()
    {
        var m = Backbone();
        var strides = m.Graph.Node.First(n => n.OpType == "Conv").Attribute("strides")!;
        strides.Ints.Clear();
        strides.Ints.Add([1L << 62, 1L << 62]);
        var path = Save(m, "stride.onnx");
        var e = LoadFails(path, ResNet18Files.PreprocessPath());
        Assert.Contains("is not a plain 2-D window (kernel [7,7], strides [4611686018427387904,4611686018427387904]", e.Message);
    }

    [Fact]
    public void A_mean_image_of_2_to_the_64_pixels_without_data_is_refused_not_averaged_to_NaN()
    {
        var prep = Preprocessing();
        var sub = prep.Graph.Node.Single(n => n.OpType == "Sub");
        var mean = prep.Initializer(sub.Input[1]);
        mean.Dims.Clear();
        mean.Dims.Add([1, 3, 1L << 32, 1L << 32]);
        mean.RawData = ByteString.Empty;
        mean.FloatData.Clear();
        var path = Save(prep, "mean.onnx");
        var e = LoadFails(ResNet18Files.ModelPath(), path);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("of shape [1, 3, 4294967296, 4294967296] needs more than the 2147483648 bytes allowed", e.Message);
    }

    [Fact]
    public void A_mean_image_with_NaN_values_is_refused()
    {
        var prep = Preprocessing();
        var mean = prep.Initializer(prep.Graph.Node.Single(n => n.OpType == "Sub").Input[1]);
        if (mean.FloatData.Count > 0) mean.FloatData[0] = float.NaN;
        else
        {
            var bytes = mean.RawData.ToByteArray();
            BitConverter.GetBytes(float.NaN).CopyTo(bytes, 0);
            mean.RawData = ByteString.CopyFrom(bytes);
        }
        var path = Save(prep, "nan.onnx");
        var e = LoadFails(ResNet18Files.ModelPath(), path);
        Assert.Contains("they must be finite", e.Message);
    }

    [Fact]
    public void A_node_missing_an_input_is_named()
    {
        var m = Backbone();
        var bn = m.Graph.Node.First(n => n.OpType == "BatchNormalization");
        bn.Input.RemoveAt(4);
        var path = Save(m, "missing-input.onnx");
        var e = LoadFails(path, ResNet18Files.PreprocessPath());
        Assert.Equal($"{path}: node '{bn.Name}' (BatchNormalization) has 4 input(s); input 5 is missing.", e.Message);
    }

    [Fact]
    public void Control_characters_in_names_are_sanitized()
    {
        var m = Backbone();
        var relu = m.Graph.Node.First(n => n.OpType == "Relu");
        relu.OpType = "Evil\u001b[2J";
        relu.Name = "n\u0007";
        var path = Save(m, "names.onnx");
        var e = LoadFails(path, ResNet18Files.PreprocessPath());
        Assert.DoesNotContain(e.Message, char.IsControl);
        Assert.Contains(@"unexpected operator 'Evil\u001B[2J' in node 'n\u0007'", e.Message);
    }
}
