using System.Buffers.Binary;
using System.Text;
using InputGradients.Core;
using InputGradients.Serialization;

namespace InputGradients.Tests.Serialization;

/// <summary>Hand-made hostile .safetensors headers: each must be refused with one clear line, before allocating.</summary>
public class HostileSafeTensorsTests
{
    static string Write(TempDir dir, string name, byte[] header, int dataBytes = 0)
    {
        var path = dir.File(name);
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static string Write(TempDir dir, string name, string header, int dataBytes = 0) =>
        Write(dir, name, Encoding.UTF8.GetBytes(header), dataBytes);

    [Fact]
    public void A_shape_whose_byte_count_overflows_is_refused()
    {
        using var dir = new TempDir();
        // 2^62 float32s are 2^64 bytes, which wraps to 0 in 64 bits and so used to match data_offsets [0, 0].
        var path = Write(dir, "wrap.safetensors", """{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}""");
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Equal($"{path}: tensor 'w': shape [4611686018427387904] of Float32 needs more than the 2147483648 bytes allowed for one tensor (LoadLimits.MaxTensorBytes)", e.Message);
    }

    [Fact]
    public void An_empty_tensor_whose_other_sizes_overflow_is_refused()
    {
        using var dir = new TempDir();
        var path = Write(dir, "empty.safetensors", """{"w":{"dtype":"U8","shape":[4611686018427387904,4611686018427387904,0],"data_offsets":[0,0]}}""");
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Contains("tensor 'w': shape [4611686018427387904, 4611686018427387904, 0] is too large", e.Message);
    }

    [Fact]
    public void A_tensor_above_a_caller_limit_is_refused()
    {
        using var dir = new TempDir();
        var path = Write(dir, "limit.safetensors", """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 16);
        using (var ok = SafeTensors.Load(path)) Assert.Single(ok);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path, LoadLimits.Default with { MaxTensorBytes = 8 }));
        Assert.Contains("needs more than the 8 bytes allowed for one tensor", e.Message);
        e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Read(path, LoadLimits.Default with { MaxTotalBytes = 8 }));
        Assert.Contains("add up to more than 8 bytes", e.Message);
    }

    [Fact]
    public void A_name_given_twice_is_refused_instead_of_the_last_winning()
    {
        using var dir = new TempDir();
        var path = Write(dir, "dup.safetensors",
            """{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Equal($"{path}: the header names 'w' twice", e.Message);
    }

    [Fact]
    public void Invalid_UTF8_in_a_name_is_reported_as_such()
    {
        using var dir = new TempDir();
        var header = Encoding.UTF8.GetBytes("""{"wX":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""");
        header[3] = 0xFF;
        var path = Write(dir, "utf8.safetensors", header, 1);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Equal($"{path}: the header is not valid UTF-8 text; the file is damaged or not safetensors", e.Message);
    }

    [Fact]
    public void Control_characters_from_the_file_never_reach_the_message()
    {
        using var dir = new TempDir();
        var path = Write(dir, "esc.safetensors", "{\"\\u001b]0;owned\\u0007\":{\"dtype\":\"Q\\u001b[2J\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.DoesNotContain(e.Message, c => char.IsControl(c));
        Assert.Contains(@"tensor '\u001B]0;owned\u0007': dtype 'Q\u001B[2J' is not supported", e.Message);
    }

    [Fact]
    public void Too_many_dimensions_are_refused()
    {
        using var dir = new TempDir();
        var shape = string.Join(",", Enumerable.Repeat(1, 100));
        var path = Write(dir, "dims.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[" + shape + "],\"data_offsets\":[0,1]}}", 1);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.Contains("shape has 100 dimensions, more than 64", e.Message);
    }

    [Fact]
    public void Unexpected_names_from_the_file_are_sanitized_when_loading_into_a_module()
    {
        using var dir = new TempDir();
        var path = Write(dir, "names.safetensors", "{\"\\u001b[2Jweight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        using var module = TorchSharp.torch.nn.Linear(1, 1);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.LoadStateDict(module, path));
        Assert.DoesNotContain(e.Message, char.IsControl);
        Assert.Contains(@"unexpected key(s) the model does not have: \u001B[2Jweight", e.Message);
    }
}
