using System.IO.Compression;
using InputGradients.Data;

namespace InputGradients.Tests.Data;

public sealed class IdxTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("idx-tests-").FullName;
    public void Dispose() => Directory.Delete(dir, recursive: true);

    // Built byte by byte from the format's description: 0, 0, type, rank, big-endian sizes, data.
    static byte[] Encode(byte type, int[] shape, byte[] data)
    {
        var b = new List<byte> { 0, 0, type, (byte)shape.Length };
        foreach (var n in shape) b.AddRange([(byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n]);
        b.AddRange(data);
        return b.ToArray();
    }

    string Write(string name, byte[] bytes, bool gzip = false)
    {
        var p = Path.Combine(dir, name);
        if (gzip)
        {
            using var f = File.Create(p);
            using var z = new GZipStream(f, CompressionLevel.Fastest);
            z.Write(bytes);
        }
        else File.WriteAllBytes(p, bytes);
        return p;
    }

    [Fact]
    public void ReadsPlainAndGzippedArrays()
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)i).ToArray();
        foreach (var gz in new[] { false, true })
        {
            var a = InputGradients.Data.Idx.Read(Write(gz ? "a.gz" : "a", Encode(0x08, [2, 3, 4], data), gz));
            Assert.Equal(new[] { 2, 3, 4 }, a.Shape);
            Assert.Equal(data, a.Data);
        }
    }

    [Theory]
    [InlineData(new byte[] { 1, 2 }, "too short")]
    [InlineData(new byte[] { 0x50, 0x4B, 3, 4 }, "not an IDX file")]
    [InlineData(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0 }, "0x0D is not supported")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 2 }, "truncated IDX header")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 5, 1, 2 }, "needs 5 bytes, file has 2")]
    public void BadFilesGiveClearErrors(byte[] bytes, string message)
    {
        var path = Write("bad-idx", bytes);
        var e = Assert.Throws<InvalidDataException>(() => InputGradients.Data.Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void GzipNameOnPlainFileIsReported()
    {
        var path = Write("plain.gz", Encode(0x08, [1], [7]));
        var e = Assert.Throws<InvalidDataException>(() => InputGradients.Data.Idx.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MismatchedImagesAndLabelsAreReported()
    {
        var images = new IdxArray([2, 28, 28], new byte[2 * 28 * 28]);
        var labels = new IdxArray([3], [0, 1, 2]);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.FromIdx(images, labels, "imgs", "lbls"));
        Assert.Contains("2 images", e.Message);
        var badLabel = new IdxArray([2], [0, 12]);
        Assert.Contains("label 12", Assert.Throws<InvalidDataException>(() => FashionMnist.FromIdx(images, badLabel, "imgs", "lbls")).Message);
    }

    [Fact]
    public void MissingFileIsReported()
    {
        var path = Path.Combine(dir, "missing-idx1-ubyte");
        Assert.Contains(path, Assert.Throws<FileNotFoundException>(() => InputGradients.Data.Idx.Read(path)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_header_claiming_2_GiB_is_refused_before_allocating(bool gzip)
    {
        var path = Write(gzip ? "huge.gz" : "huge", Encode(0x08, [32767, 65535], [1, 2, 3]), gzip);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => InputGradients.Data.Idx.Read(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated the claimed size");
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(gzip ? "needs 2147385345 bytes from" : "needs 2147385345 bytes, file has 3", e.Message);
    }

    [Fact]
    public void A_header_above_a_caller_limit_is_refused()
    {
        var path = Write("limit", Encode(0x08, [4], [1, 2, 3, 4]));
        var e = Assert.Throws<InvalidDataException>(() => InputGradients.Data.Idx.Read(path, InputGradients.Core.LoadLimits.Default with { MaxTensorBytes = 3 }));
        Assert.Contains("needs 4 bytes, more than the 3 allowed (LoadLimits.MaxTensorBytes)", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bytes_after_the_data_are_reported(bool gzip)
    {
        var path = Write(gzip ? "junk.gz" : "junk", Encode(0x08, [2], [1, 2, 3]), gzip);
        var e = Assert.Throws<InvalidDataException>(() => InputGradients.Data.Idx.Read(path));
        Assert.Equal($"{path}: the file has more bytes than the IDX header's shape [2] needs (2); the header and the data disagree", e.Message);
    }
}
