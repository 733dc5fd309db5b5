using System.IO.Compression;
using InputGradients.Core;

namespace InputGradients.Data;

/// <summary>
/// One IDX array (the format of the MNIST and Fashion-MNIST files): unsigned bytes with a shape.
/// </summary>
public sealed record IdxArray(int[] Shape, byte[] Data)
{
    public int Count => Shape.Length == 0 ? 1 : Shape[0];
}

/// <summary>
/// Reader for IDX files as described on the MNIST page (LeCun et al.): a 4-byte magic number
/// (two zero bytes, a type code, the number of dimensions), big-endian 32-bit sizes, then the data.
/// Only type 0x08 (unsigned byte) is supported, which is what (Fashion-)MNIST uses.
/// Files ending in ".gz" are decompressed on the fly.
/// The size in the header is checked before anything is allocated: against the bytes the file has (or, gzipped,
/// against <see cref="LoadLimits.MaxCompressionRatio"/> times its length) and <see cref="LoadLimits.MaxTensorBytes"/>.
/// Bytes after the data are an error: the header and the file disagree.
/// </summary>
public static class Idx
{
    const byte UnsignedByte = 0x08;

    public static IdxArray Read(string path, LoadLimits? limits = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file not found: {path}", path);
        try
        {
            using var file = File.OpenRead(path);
            bool gz = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
            using Stream stream = gz ? new GZipStream(file, CompressionMode.Decompress) : file;
            return Read(stream, path, limits, gz ? file.Length : null);
        }
        // The gzip stream's errors, not ours (ours start with the path); zlib error codes come as the internal
        // ZLibException, an IOException whose type name says so.
        catch (Exception e) when (e.GetType().Name == "ZLibException" || (e is InvalidDataException && !e.Message.StartsWith(path + ": ", StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"{path}: not a valid gzip/IDX file ({e.Message})", e);
        }
    }

    /// <summary>Reads an IDX array from a stream; <paramref name="name"/> is used in error messages. A seekable
    /// stream must end with the data; <paramref name="compressedLength"/>, when the stream is decompressed from that
    /// many bytes, bounds the size it may claim.</summary>
    public static IdxArray Read(Stream stream, string name, LoadLimits? limits = null, long? compressedLength = null)
    {
        limits ??= LoadLimits.Default;
        Span<byte> head = stackalloc byte[4];
        if (ReadFully(stream, head) < 4)
            throw new InvalidDataException($"{name}: too short for an IDX header (needs 4 bytes of magic number)");
        if (head[0] != 0 || head[1] != 0)
            throw new InvalidDataException(
                $"{name}: not an IDX file (magic number starts with 0x{head[0]:X2}{head[1]:X2}, expected 0x0000)");
        if (head[2] != UnsignedByte)
            throw new InvalidDataException(
                $"{name}: IDX element type 0x{head[2]:X2} is not supported (only 0x08, unsigned byte)");
        int rank = head[3];
        if (rank == 0 || rank > 8)
            throw new InvalidDataException($"{name}: IDX header gives {rank} dimensions (expected 1 to 8)");

        var shape = new int[rank];
        Span<byte> size = stackalloc byte[4];
        long total = 1;
        for (int d = 0; d < rank; d++)
        {
            if (ReadFully(stream, size) < 4)
                throw new InvalidDataException($"{name}: truncated IDX header (dimension {d} of {rank} missing)");
            uint n = (uint)(size[0] << 24 | size[1] << 16 | size[2] << 8 | size[3]);
            if (n > int.MaxValue)
                throw new InvalidDataException($"{name}: dimension {d} has an impossible size {n}");
            shape[d] = (int)n;
            total *= n;
            if (total > int.MaxValue)
                throw new InvalidDataException($"{name}: IDX array of shape [{string.Join(",", shape)}] is too large");
        }

        // The header's size is a claim: check it against what the file can hold before allocating.
        if (total > limits.MaxTensorBytes)
            throw new InvalidDataException($"{name}: IDX array of shape [{string.Join(",", shape)}] needs {total} bytes, more than the {limits.MaxTensorBytes} allowed (LoadLimits.MaxTensorBytes)");
        if (stream.CanSeek && total > stream.Length - stream.Position)
            throw new InvalidDataException(
                $"{name}: truncated IDX data: shape [{string.Join(",", shape)}] needs {total} bytes, file has {stream.Length - stream.Position}");
        if (compressedLength is long c && !limits.AllowsExpansion(total, c))
            throw new InvalidDataException($"{name}: IDX shape [{string.Join(",", shape)}] needs {total} bytes from {c} compressed bytes, more than {limits.MaxCompressionRatio} to 1 (LoadLimits.MaxCompressionRatio); the header is wrong or the file is a decompression bomb");

        var data = new byte[total];
        int got = ReadFully(stream, data);
        if (got < total)
            throw new InvalidDataException(
                $"{name}: truncated IDX data: shape [{string.Join(",", shape)}] needs {total} bytes, file has {got}");
        Span<byte> extra = stackalloc byte[1];
        if (ReadFully(stream, extra) > 0)
            throw new InvalidDataException(
                $"{name}: the file has more bytes than the IDX header's shape [{string.Join(",", shape)}] needs ({total}); the header and the data disagree");
        return new IdxArray(shape, data);
    }

    /// <summary>Writes an unsigned-byte IDX file (uncompressed).</summary>
    public static void Write(string path, int[] shape, ReadOnlySpan<byte> data)
    {
        long total = shape.Aggregate(1L, (a, n) => a * n);
        if (total != data.Length)
            throw new ArgumentException($"IDX shape [{string.Join(",", shape)}] needs {total} bytes, got {data.Length}");
        using var f = File.Create(path);
        f.Write([0, 0, UnsignedByte, (byte)shape.Length]);
        foreach (var n in shape) f.Write([(byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n]);
        f.Write(data);
    }

    static int ReadFully(Stream s, Span<byte> buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = s.Read(buffer[read..]);
            if (n == 0) break;
            read += n;
        }
        return read;
    }
}
