using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace InputGradients.Tests.Serialization;

/// <summary>Hand-assembled pickle opcodes (from Python's pickletools documentation), to craft test files.</summary>
internal static class PickleBytes
{
    public static byte[] Cat(params object[] parts)
    {
        var ms = new MemoryStream();
        foreach (var p in parts)
        {
            switch (p)
            {
                case byte b: ms.WriteByte(b); break;
                case byte[] a: ms.Write(a); break;
                case char c: ms.WriteByte((byte)c); break;
                default: throw new ArgumentException(p.GetType().Name);
            }
        }
        return ms.ToArray();
    }

    public static readonly byte[] Proto2 = { 0x80, 2 };
    public static byte[] Global(string module, string name) => Encoding.ASCII.GetBytes($"c{module}\n{name}\n");
    public static byte[] Str(string s)
    {
        var u = Encoding.UTF8.GetBytes(s);
        var b = new byte[5 + u.Length];
        b[0] = (byte)'X';
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(1), (uint)u.Length);
        u.CopyTo(b, 5);
        return b;
    }
    public static byte[] Int(int v) => v is >= 0 and < 256 ? new[] { (byte)'K', (byte)v } : Cat('J', BitConverter.GetBytes(v));
    public static byte[] Tuple(params int[] v) => Cat(new object[] { '(' }.Concat(v.Select(Int).Cast<object>()).Append('t').ToArray());

    /// <summary>{name: _rebuild_tensor_v2(storage '0' of FloatStorage[numel], offset, size, stride, False, OrderedDict())}.</summary>
    public static byte[] OneTensorStateDict(string name, int storageNumel, int offset, int[] size, int[] stride) => Cat(
        Proto2, '}', Str(name),
        Global("torch._utils", "_rebuild_tensor_v2"),
        '(',
        '(', Str("storage"), Global("torch", "FloatStorage"), Str("0"), Str("cpu"), Int(storageNumel), 't', 'Q',
        Int(offset), Tuple(size), Tuple(stride), (byte)0x89,
        Global("collections", "OrderedDict"), ')', 'R',
        't', 'R',
        's', '.');

    /// <summary>Writes a torch.save-like zip: root/data.pkl, root/data/&lt;key&gt; files.</summary>
    public static void WriteZip(string path, byte[] dataPkl, params (string key, byte[] bytes)[] storages)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] bytes)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
        Add("archive/data.pkl", dataPkl);
        foreach (var (k, b) in storages) Add($"archive/data/{k}", b);
        Add("archive/version", Encoding.ASCII.GetBytes("3\n"));
    }

    public static byte[] Floats(params float[] v)
    {
        var b = new byte[v.Length * 4];
        Buffer.BlockCopy(v, 0, b, 0, b.Length);
        return b;
    }
}
