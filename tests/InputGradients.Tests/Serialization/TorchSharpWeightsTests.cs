using InputGradients.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Serialization;

/// <summary>
/// Damaged and hostile files in TorchSharp's own weight format, given to <see cref="FashionMnistNet.Load"/>: each is
/// refused with one line naming the file before TorchSharp's reader (which trusts the file) sees it. The files are
/// written here byte by byte from the format's description, not with the code under test.
/// </summary>
public class TorchSharpWeightsTests
{
    static string WeightsPath => TestPaths.Data("models", "fashion-mnist-cnn.bin");

    static void Leb(Stream s, long v)
    {
        do { byte b = (byte)(v & 0x7F); v >>= 7; s.WriteByte(v != 0 ? (byte)(b | 0x80) : b); } while (v != 0);
    }

    /// <summary>The first entry of a FashionMnistNet weights file with the given rank and dims, and no more.</summary>
    static byte[] FirstEntry(long count, string name, long dtype, long rank, params long[] dims)
    {
        var ms = new MemoryStream();
        Leb(ms, count);
        var nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
        Leb(ms, nameBytes.Length);
        ms.Write(nameBytes);
        Leb(ms, dtype);
        Leb(ms, rank);
        foreach (var d in dims) Leb(ms, d);
        return ms.ToArray();
    }

    static InvalidDataException Refused(byte[] bytes, out string path)
    {
        path = Path.Combine(Path.GetTempPath(), $"weights-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, bytes);
        try
        {
            var p = path;
            var e = Assert.Throws<InvalidDataException>(() => FashionMnistNet.Load(p));
            Assert.StartsWith(path + ": ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            return e;
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void The_committed_weights_pass_the_check_and_load_as_before()
    {
        using var model = FashionMnistNet.Load(WeightsPath);
        using var reference = new FashionMnistNet();
        reference.load(WeightsPath, strict: true); // TorchSharp's own reader, without our check
        foreach (var ((name, a), (_, b)) in model.state_dict().Zip(reference.state_dict()))
            Assert.True(a.eq(b).all().item<bool>(), name);
    }

    [Fact]
    public void A_rank_of_2_to_the_40_is_refused_before_anything_is_allocated()
    {
        // TorchSharp's reader would allocate new long[2^40] for the shape.
        using var model = new FashionMnistNet();
        var e = Refused(FirstEntry(model.state_dict().Count, "features.conv1.weight", (long)ScalarType.Float32, 1L << 40), out _);
        Assert.Contains("'features.conv1.weight' has 1099511627776 dimensions, the model expects 4", e.Message);
    }

    [Fact]
    public void Wrong_counts_names_dtypes_and_shapes_are_named()
    {
        using var model = new FashionMnistNet();
        int n = model.state_dict().Count;
        Assert.Contains($"holds 3 entries, but FashionMnistNet has {n}", Refused(FirstEntry(3, "x", 6, 0), out _).Message);
        Assert.Contains("entry 0 is 'features.conv9.weight', which FashionMnistNet does not have",
            Refused(FirstEntry(n, "features.conv9.weight", 6, 0), out _).Message);
        Assert.Contains("'features.conv1.weight' has dtype code 7",
            Refused(FirstEntry(n, "features.conv1.weight", 7, 4, 32, 1, 3, 3), out _).Message);
        Assert.Contains("'features.conv1.weight' has shape [32, 1, 5, 5], the model expects [",
            Refused(FirstEntry(n, "features.conv1.weight", 6, 4, 32, 1, 5, 5), out _).Message);
        Assert.Contains("the file ends inside", Refused(FirstEntry(n, "features.conv1.weight", 6, 4), out _).Message);
        Assert.Contains("the entry count is not a valid number", Refused(Enumerable.Repeat((byte)0xFF, 12).ToArray(), out _).Message);
        Assert.Contains("not valid UTF-8", Refused([(byte)n, 2, 0xC3, 0x28], out _).Message);
        // A control character in a name is shown escaped, never raw.
        var e = Refused(FirstEntry(n, "evil\u001b[2J", 6, 0), out _);
        Assert.Contains("evil\\u001B[2J", e.Message);
    }

    [Fact]
    public void A_truncated_file_a_duplicate_entry_and_trailing_bytes_are_refused()
    {
        var good = File.ReadAllBytes(WeightsPath);
        Assert.Contains("(truncated?)", Refused(good[..(good.Length / 2)], out _).Message);
        Assert.Contains("3 bytes follow the last entry", Refused([.. good, 1, 2, 3], out _).Message);

        // The same first entry twice: rewrite the second entry's name as the first's (same length names only).
        using var model = new FashionMnistNet();
        var names = model.state_dict().Keys.ToList();
        var second = names.Skip(1).First(k => k.Length == names[0].Length);
        int at = good.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(second));
        Assert.True(at > 0);
        var twice = (byte[])good.Clone();
        System.Text.Encoding.UTF8.GetBytes(names[0]).CopyTo(twice, at);
        Assert.Contains($"'{names[0]}' appears twice", Refused(twice, out _).Message);
    }

    [Fact]
    public void Random_byte_changes_either_load_or_are_refused_with_one_line()
    {
        var good = File.ReadAllBytes(WeightsPath);
        // The entry headers: every position where a name starts, and the bytes around it.
        using var model = new FashionMnistNet();
        var headerRegions = model.state_dict().Keys
            .Select(k => good.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(k))).Where(i => i > 0).ToList();
        var random = new Random(20261202);
        var path = Path.Combine(Path.GetTempPath(), $"weights-mutated-{Guid.NewGuid():N}.bin");
        int loaded = 0, refused = 0;
        try
        {
            for (int i = 0; i < 200; i++)
            {
                var bytes = (byte[])good.Clone();
                int region = headerRegions[random.Next(headerRegions.Count)];
                int pos = Math.Clamp(region - 2 + random.Next(40), 0, bytes.Length - 1);
                bytes[pos] = (byte)random.Next(256);
                File.WriteAllBytes(path, bytes);
                try
                {
                    using var m = FashionMnistNet.Load(path);
                    loaded++;
                }
                catch (InvalidDataException e)
                {
                    Assert.StartsWith(path + ": ", e.Message);
                    Assert.DoesNotContain('\n', e.Message);
                    refused++;
                }
            }
        }
        finally { File.Delete(path); }
        Assert.True(refused > 60, $"only {refused} of 200 header changes were refused ({loaded} loaded)");
    }
}
