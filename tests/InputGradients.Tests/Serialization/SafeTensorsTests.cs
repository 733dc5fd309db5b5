using System.Buffers.Binary;
using System.Text;
using InputGradients.Models.TorchVision;
using InputGradients.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Serialization;

public class SafeTensorsTests
{
    [Fact]
    public void The_Python_written_file_holds_exactly_the_tensors_of_the_pth()
    {
        using var st = SafeTensors.Load(TorchVisionFixtures.File("squeezenet1_1.safetensors"));
        using var pth = TorchCheckpoint.LoadStateDict(TorchVisionFixtures.File("squeezenet1_1.pth"));
        Assert.Equal(52, st.Count);
        Assert.Equal(pth.Keys.Order(), st.Keys.Order());
        foreach (var (k, t) in pth)
        {
            Assert.Equal(t.shape, st[k].shape);
            Assert.Equal(t.dtype, st[k].dtype);
            Assert.True(t.bytes.SequenceEqual(st[k].bytes), k);
        }
        Assert.Equal("pt", st.Metadata["format"]);
    }

    [Fact]
    public void Our_writer_gives_the_same_bytes_as_the_reference_script()
    {
        // The script writes sorted names, compact JSON, space padding to 8 bytes: the same choices as ours.
        using var pth = TorchCheckpoint.LoadStateDict(TorchVisionFixtures.File("squeezenet1_1.pth"));
        using var dir = new TempDir();
        var path = dir.File("ours.safetensors");
        SafeTensors.Save(pth, path, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(File.ReadAllBytes(TorchVisionFixtures.File("squeezenet1_1.safetensors")), File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path)); // no temporary left behind
    }

    [Fact]
    public void Every_dtype_round_trips()
    {
        using var dir = new TempDir();
        var path = dir.File("all.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = torch.tensor(new float[] { 1.5f, -2, 3e-8f }),
            ["f64"] = torch.tensor(new double[] { Math.PI, -1e300 }).reshape(2, 1),
            ["f16"] = torch.tensor(new float[] { 0.5f, 65504 }).to(ScalarType.Float16),
            ["bf16"] = torch.tensor(new float[] { 0.5f, 3e38f }).to(ScalarType.BFloat16),
            ["i64"] = torch.tensor(new long[] { long.MinValue, 5 }),
            ["i32"] = torch.tensor(new int[] { int.MaxValue }),
            ["i16"] = torch.tensor(new short[] { -7 }),
            ["i8"] = torch.tensor(new sbyte[] { -128 }),
            ["u8"] = torch.tensor(new byte[] { 255 }),
            ["bool"] = torch.tensor(new[] { true, false }),
            ["empty"] = torch.zeros(0, 3),
            ["transposed"] = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3).t(),
        };
        SafeTensors.Save(tensors, path);
        using var back = SafeTensors.Load(path);
        foreach (var (k, t) in tensors)
        {
            Assert.Equal(t.dtype, back[k].dtype);
            Assert.Equal(t.shape, back[k].shape);
            Assert.True(t.contiguous().bytes.SequenceEqual(back[k].bytes), k);
        }
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, back["transposed"].data<float>().ToArray());
    }

    private static byte[] File_(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        return b;
    }

    public static TheoryData<string, byte[], string> Damaged => new()
    {
        { "offsets outside the file", File_("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8), "point outside the data section, which has 8 bytes" },
        { "shape and offsets disagree", File_("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", 16), "shape [3] of Float32 needs 12 bytes but data_offsets [0, 16] give 16" },
        { "overlap", File_("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16), "overlap" },
        { "unknown dtype", File_("""{"a":{"dtype":"F8_E5M2","shape":[4],"data_offsets":[0,4]}}""", 4), "dtype 'F8_E5M2' is not supported" },
        { "negative size", File_("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "not a non-negative integer" },
        { "bad JSON", File_("""{"a":{"dtype":"F32",""", 4), "not valid JSON" },
        { "header longer than the file", new byte[] { 232, 3, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}' }, "the header claims 1000 bytes but the file has only 2 after the length" },
        { "too short", new byte[] { 1, 2, 3 }, "too short for a safetensors header" },
    };

    [Theory]
    [MemberData(nameof(Damaged))]
    public void Damaged_files_give_a_clear_error(string what, byte[] bytes, string message)
    {
        _ = what;
        using var dir = new TempDir();
        var path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_truncated_model_file_is_reported()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(TorchVisionFixtures.File("squeezenet1_1.safetensors"));
        var path = dir.File("cut.safetensors");
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Contains("point outside the data section", e.Message);
    }
}

public class LoadStateDictTests
{
    [Fact]
    public void Wrong_shapes_are_listed_and_nothing_is_copied()
    {
        using var model = SqueezeNet.SqueezeNet1_1(num_classes: 10);
        var before = model.state_dict()["features.0.weight"].clone();
        var path = TorchVisionFixtures.File("squeezenet1_1.safetensors");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.LoadStateDict(model, path));
        Assert.Contains("classifier.1.weight: checkpoint [1000, 512, 1, 1], model [10, 512, 1, 1]", e.Message);
        Assert.Contains("classifier.1.bias: checkpoint [1000], model [10]", e.Message);
        Assert.Contains("Nothing was copied", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(before.data<float>().ToArray(), model.state_dict()["features.0.weight"].data<float>().ToArray());
    }

    [Fact]
    public void Strict_loading_names_missing_and_unexpected_keys()
    {
        using var model = SqueezeNet.SqueezeNet1_1();
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.LoadStateDict(model, TorchVisionFixtures.File("views.pth")));
        Assert.Contains("52 missing key(s) in the checkpoint: features.0.weight", e.Message);
        Assert.Contains("14 unexpected key(s) the model does not have: base, slice", e.Message);
    }

    [Fact]
    public void Non_strict_loading_reports_what_it_did()
    {
        using var model = SqueezeNet.SqueezeNet1_1();
        using var sd = SafeTensors.Load(TorchVisionFixtures.File("squeezenet1_1.safetensors"));
        var partial = sd.Where(kv => kv.Key.StartsWith("features.")).ToDictionary();
        partial["extra.weight"] = torch.zeros(1);
        var report = Checkpoint.LoadStateDict(model, partial, strict: false);
        Assert.Equal(50, report.Loaded.Count);
        Assert.Equal(new[] { "classifier.1.weight", "classifier.1.bias" }, report.Missing);
        Assert.Equal(new[] { "extra.weight" }, report.Unexpected);
        Assert.Equal(sd["features.12.expand3x3.weight"].data<float>().ToArray(), model.state_dict()["features.12.expand3x3.weight"].data<float>().ToArray());
    }

    [Fact]
    public void Renaming_loads_a_DataParallel_checkpoint()
    {
        using var sd = SafeTensors.Load(TorchVisionFixtures.File("squeezenet1_1.safetensors"));
        using var dir = new TempDir();
        var path = dir.File("dp.safetensors");
        SafeTensors.Save(sd.Select(kv => KeyValuePair.Create("module." + kv.Key, kv.Value)), path);
        using var model = SqueezeNet.SqueezeNet1_1();
        Assert.Throws<CheckpointFormatException>(() => Checkpoint.LoadStateDict(model, path));
        var report = Checkpoint.LoadStateDict(model, path, rename: n => n.StartsWith("module.") ? n[7..] : n);
        Assert.Equal(52, report.Loaded.Count);
        Assert.Equal(sd["classifier.1.weight"].data<float>().ToArray(), model.state_dict()["classifier.1.weight"].data<float>().ToArray());
    }

    [Fact]
    public void A_float16_checkpoint_is_converted_to_the_models_float32()
    {
        using var sd = SafeTensors.Load(TorchVisionFixtures.File("squeezenet1_1.safetensors"));
        using var dir = new TempDir();
        var path = dir.File("half.safetensors");
        SafeTensors.Save(sd.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.to(ScalarType.Float16))), path);
        using var model = SqueezeNet.SqueezeNet1_1();
        Checkpoint.LoadStateDict(model, path);
        var w = model.state_dict()["features.3.squeeze.weight"];
        Assert.Equal(ScalarType.Float32, w.dtype);
        // Exactly the float32 -> float16 -> float32 rounding of the original (by libtorch's own conversion).
        Assert.Equal(sd["features.3.squeeze.weight"].to(ScalarType.Float16).to(ScalarType.Float32).data<float>().ToArray(), w.data<float>().ToArray());
    }
}
