using System.Text.Json;
using InputGradients.Serialization;
using TorchSharp;
using static InputGradients.Tests.Serialization.PickleBytes;
using static TorchSharp.torch;

namespace InputGradients.Tests.Serialization;

public class TorchCheckpointTests
{
    [Theory]
    [InlineData("views.pth")]        // zip format, PyTorch 1.13 default
    [InlineData("views_legacy.pth")] // _use_new_zipfile_serialization=False
    public void Views_and_dtypes_match_what_PyTorch_saved(string file)
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(TorchVisionFixtures.File("views.json")));
        using var sd = TorchCheckpoint.LoadStateDict(TorchVisionFixtures.File(file));
        Assert.Equal(expected.RootElement.EnumerateObject().Select(p => p.Name), sd.Keys);
        foreach (var p in expected.RootElement.EnumerateObject())
        {
            var t = sd[p.Name];
            Assert.Equal(p.Value.GetProperty("dtype").GetString(), DTypeName(t.dtype));
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), t.shape);
            Assert.True(t.is_contiguous());
            var values = p.Value.GetProperty("values");
            if (t.dtype == ScalarType.Int64)
                Assert.Equal(values.EnumerateArray().Select(x => x.GetInt64()), t.flatten().data<long>().ToArray());
            else
                Assert.Equal(values.EnumerateArray().Select(x => x.GetDouble()),
                    t.to(ScalarType.Float32).flatten().data<float>().ToArray().Select(x => (double)x));
        }
        Assert.Equal(123456789012L, sd["num_batches_tracked"].item<long>());
    }

    private static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32", ScalarType.Float64 => "float64", ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16", ScalarType.Int64 => "int64", ScalarType.Int32 => "int32",
        ScalarType.Byte => "uint8", ScalarType.Bool => "bool", _ => t.ToString(),
    };

    [Fact]
    public void Views_do_not_share_memory_after_loading()
    {
        using var sd = TorchCheckpoint.LoadStateDict(TorchVisionFixtures.File("views.pth"));
        var before = sd["slice"].clone();
        sd["base"].fill_(0);
        Assert.Equal(before.data<float>().ToArray(), sd["slice"].data<float>().ToArray());
        Assert.NotEqual(0f, before.abs().sum().item<float>());
    }

    [Fact]
    public void A_hand_made_checkpoint_with_an_offset_view_loads()
    {
        using var dir = new TempDir();
        var path = dir.File("offset.pth");
        WriteZip(path, OneTensorStateDict("w", 4, 1, new[] { 3 }, new[] { 1 }), ("0", Floats(1, 2, 3, 4)));
        using var sd = TorchCheckpoint.LoadStateDict(path);
        Assert.Equal(new float[] { 2, 3, 4 }, sd["w"].data<float>().ToArray());
    }

    [Fact]
    public void A_view_reaching_outside_its_storage_is_refused()
    {
        using var dir = new TempDir();
        var path = dir.File("outside.pth");
        WriteZip(path, OneTensorStateDict("w", 4, 2, new[] { 3 }, new[] { 1 }), ("0", Floats(1, 2, 3, 4)));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("reaches element 4 of storage '0', which has only 4", e.Message);
    }

    [Fact]
    public void A_storage_file_of_the_wrong_length_is_refused()
    {
        using var dir = new TempDir();
        var path = dir.File("short.pth");
        WriteZip(path, OneTensorStateDict("w", 4, 0, new[] { 4 }, new[] { 1 }), ("0", Floats(1, 2, 3)));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("should hold 4 Float32 values (16 bytes)", e.Message);
    }

    public static TheoryData<string, byte[], string> Forbidden(string marker) => new()
    {
        { "os.system", Cat(Proto2, Global("os", "system"), Str($"touch {marker}"), (byte)0x85, 'R', '.'), "'os.system'" },
        { "posix.system", Cat(Proto2, Global("posix", "system"), Str($"touch {marker}"), (byte)0x85, 'R', '.'), "'posix.system'" },
        { "builtins.eval", Cat(Proto2, Global("builtins", "eval"), Str($"open('{marker}','w')"), (byte)0x85, 'R', '.'), "'builtins.eval'" },
        { "builtins.exec inside a state dict", Cat(Proto2, '}', Str("w"), Global("builtins", "exec"), Str($"open('{marker}','w')"), (byte)0x85, 'R', 's', '.'), "'builtins.exec'" },
        // protocol 4 spelling of a global
        { "STACK_GLOBAL os.system", Cat(new byte[] { 0x80, 4 }, (byte)0x8c, (byte)2, "os"u8.ToArray(), (byte)0x8c, (byte)6, "system"u8.ToArray(), (byte)0x93, Str($"touch {marker}"), (byte)0x85, 'R', '.'), "'os.system'" },
        { "INST", Cat(Proto2, '(', Str($"touch {marker}"), "ios\nsystem\n"u8.ToArray(), '.'), "INST" },
        { "NEWOBJ", Cat(Proto2, Global("collections", "OrderedDict"), ')', (byte)0x81, '.'), "NEWOBJ" },
        { "calling a storage class", Cat(Proto2, Global("torch", "FloatStorage"), ')', 'R', '.'), "may only appear as a storage type" },
        { "unknown opcode", Cat(Proto2, (byte)0xff, '.'), "unsupported pickle opcode 0xff" },
    };

    private static readonly string Marker = Path.Combine(Path.GetTempPath(), $"ig-pickle-executed-{Environment.ProcessId}");

    public static TheoryData<string, byte[], string> ForbiddenCases => Forbidden(Marker);

    [Theory]
    [MemberData(nameof(ForbiddenCases))]
    public void Forbidden_pickles_are_refused_and_nothing_runs(string what, byte[] dataPkl, string named)
    {
        _ = what;
        using var dir = new TempDir();
        var path = dir.File("evil.pth");
        WriteZip(path, dataPkl);
        File.Delete(Marker);
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.Contains(named, e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("Nothing from the file was executed", e.Message);
        Assert.False(File.Exists(Marker));
    }

    [Fact]
    public void A_truncated_zip_checkpoint_is_reported_as_damaged()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(TorchVisionFixtures.File("squeezenet1_1.pth"));
        var path = dir.File("truncated.pth");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("damaged or truncated", e.Message);
    }

    [Fact]
    public void A_truncated_legacy_checkpoint_is_reported_as_truncated()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(TorchVisionFixtures.File("views_legacy.pth"));
        var path = dir.File("truncated_legacy.pth");
        File.WriteAllBytes(path, bytes[..(bytes.Length - 40)]);
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_says_so()
    {
        using var dir = new TempDir();
        var path = dir.File("notes.pth");
        File.WriteAllText(path, "hello, this is not a checkpoint");
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.Contains("not a PyTorch checkpoint", e.Message);
    }

    [Fact]
    public void A_checkpoint_that_is_not_a_state_dict_says_what_it_holds()
    {
        using var dir = new TempDir();
        var path = dir.File("list.pth");
        WriteZip(path, Cat(Proto2, ']', Int(3), 'a', '.'));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("holds a list, not a state dict", e.Message);
    }
}
