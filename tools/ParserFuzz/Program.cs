// SharpFuzz targets for the readers of outside bytes, driven by afl-fuzz (see README.md and ./run in this folder).
// An input passes when the reader loads it or refuses it with its documented exception and one clean line naming
// the file; anything else (another exception, a message that is not one clean line, a crash, a hang) is a finding.
using System.IO.Compression;
using Google.Protobuf;
using InputGradients.Core;
using InputGradients.Data;
using InputGradients.Imaging;
using InputGradients.Models.Onnx;
using InputGradients.Models.Onnx.Proto;
using InputGradients.Runtime;
using InputGradients.Serialization;
using InputGradients.Shared;
using SharpFuzz;
using TorchSharp;

// Tight limits keep each input cheap; what they refuse is a documented refusal, not a finding.
var limits = LoadLimits.Default with { MaxPixels = 4_000_000, MaxTensorBytes = 64 << 20, MaxTotalBytes = 256 << 20, MaxNestingDepth = 200 };
var targets = new Dictionary<string, (string Extension, Action<string, byte[]> Read, Func<Exception, bool> Documented)>
{
    ["pth"] = (".pth", (path, _) => TorchCheckpoint.Load(path, limits), e => e is CheckpointFormatException),
    ["safetensors"] = (".safetensors", (path, _) => SafeTensors.Load(path, limits).Dispose(), e => e is CheckpointFormatException),
    ["image"] = (".img", (path, bytes) => ImageIO.Decode(bytes, path, limits: limits).Dispose(), e => e is InvalidDataException),
    ["idx"] = ("", (path, _) => Idx.Read(path, limits), e => e is InvalidDataException),
    ["idx-gz"] = (".gz", (path, _) => Idx.Read(path, limits), e => e is InvalidDataException),
    ["onnx"] = (".onnx", (path, bytes) =>
    {
        var m = OnnxModel.Parse(bytes, path, limits);
        foreach (var t in m.Graph.Initializer) m.FloatData(t.Name);
    }, e => e is OnnxFormatException),
    // The one notebook reader of nbrun, submission and the word count (tools/Shared/Ipynb.cs).
    ["ipynb"] = (".ipynb", (path, bytes) =>
    {
        var nb = Ipynb.Load(path);
        Ipynb.AddMissingIds(nb, path);
        foreach (var cell in Ipynb.Cells(nb))
        {
            _ = Ipynb.Source(cell!) + Ipynb.CellType(cell!) + Ipynb.ExecutionCount(cell!);
            foreach (var o in Ipynb.Outputs(cell!)) _ = Ipynb.Text(o["evalue"]);
        }
        _ = Ipynb.Serialize(nb);
    }, e => e is InvalidDataException),
};

if (args is ["seeds", var seedDir])
{
    WriteSeeds(seedDir);
    return 0;
}
if (args.Length < 1 || !targets.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: parserfuzz TARGET [FILE] | parserfuzz seeds DIR   (targets: {string.Join(", ", targets.Keys)})");
    return 2;
}
LibraryRuntime.Ensure();
var scratch = Path.Combine(Path.GetTempPath(), $"parserfuzz-{Environment.ProcessId}{target.Extension}");

// Returns what happened; throws (a finding) when the reader does anything else.
string Check(byte[] bytes)
{
    File.WriteAllBytes(scratch, bytes);
    try
    {
        using (torch.NewDisposeScope()) target.Read(scratch, bytes);
        return "loaded";
    }
    catch (Exception e) when (target.Documented(e))
    {
        if (!e.Message.StartsWith(scratch + ": ", StringComparison.Ordinal) || e.Message.Contains('\n') || e.Message.Any(char.IsControl))
            throw new InvalidOperationException($"the message is not one clean line naming the file: {InvalidFileException.Sanitize(e.Message, 300)}");
        return "refused: " + e.Message;
    }
    finally
    {
        File.Delete(scratch);
    }
}

if (args.Length == 2)
{
    // Replays one input (e.g. a finding) without afl-fuzz.
    Console.WriteLine(Check(File.ReadAllBytes(args[1])));
    return 0;
}
// Each input runs in a child process, so a stack overflow or a native crash is reported as a finding.
Fuzzer.OutOfProcess.Run(stream =>
{
    var ms = new MemoryStream();
    stream.CopyTo(ms);
    _ = Check(ms.ToArray());
});
return 0;

static void WriteSeeds(string dir)
{
    LibraryRuntime.Ensure();
    string Sub(string name) => Directory.CreateDirectory(Path.Combine(dir, name)).FullName;
    File.WriteAllText(Path.Combine(Sub("ipynb"), "small.ipynb"),
        """{"cells":[{"cell_type":"code","id":"c","metadata":{},"execution_count":1,"outputs":[{"output_type":"error","ename":"E","evalue":"v"}],"source":["a\n","b"]}],"metadata":{},"nbformat":4,"nbformat_minor":5}""");
    using var scope = torch.NewDisposeScope();
    SafeTensors.Save(new Dictionary<string, torch.Tensor>
    {
        ["a"] = torch.arange(6, dtype: torch.float32).reshape(2, 3),
        ["b.weight"] = torch.ones(4, dtype: torch.int64),
    }, Path.Combine(Sub("safetensors"), "small.safetensors"), new Dictionary<string, string> { ["format"] = "pt" });
    ImageIO.SavePng(torch.rand(3, 8, 8), Path.Combine(Sub("image"), "rgb.png"));
    // GIF89a, 1x1, two colours, one frame (GIF specification).
    File.WriteAllBytes(Path.Combine(Sub("image"), "tiny.gif"),
        [.. "GIF89a"u8, 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B]);
    // A 16-bit RGBA PNG, 3x2, non-interlaced: the library decodes these itself (Png16), so they are worth a seed.
    var scanlines = new MemoryStream();
    for (int y = 0; y < 2; y++)
    {
        scanlines.WriteByte((byte)(y == 0 ? 1 : 4)); // filters Sub and Paeth
        for (int i = 0; i < 3 * 8; i++) scanlines.WriteByte((byte)(i * 37 + y));
    }
    File.WriteAllBytes(Path.Combine(Sub("image"), "rgba16.png"), Png(3, 2, 16, 6, scanlines.ToArray()));
    var data = Enumerable.Range(0, 24).Select(i => (byte)i).ToArray();
    Idx.Write(Path.Combine(Sub("idx"), "small-idx3-ubyte"), [2, 3, 4], data);
    using (var f = File.Create(Path.Combine(Sub("idx-gz"), "small-idx3-ubyte.gz")))
    using (var z = new GZipStream(f, CompressionLevel.Optimal))
        z.Write(File.ReadAllBytes(Path.Combine(dir, "idx", "small-idx3-ubyte")));
    var graph = new GraphProto { Name = "prep" };
    graph.Input.Add(new ValueInfoProto { Name = "x" });
    graph.Node.Add(new NodeProto { Name = "concat", OpType = "Concat", Input = { "x", "x" }, Output = { "xx" } });
    graph.Node.Add(new NodeProto { Name = "sub", OpType = "Sub", Input = { "xx", "mean" }, Output = { "y" } });
    var mean = new TensorProto { Name = "mean", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 1, 3, 2, 2 } };
    mean.FloatData.Add(Enumerable.Range(0, 12).Select(i => (float)i));
    graph.Initializer.Add(mean);
    graph.Initializer.Add(new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2, 2 }, RawData = ByteString.CopyFrom(new byte[16]) });
    graph.Output.Add(new ValueInfoProto { Name = "y" });
    var model = new ModelProto { IrVersion = 3, Graph = graph, OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 8 } } };
    File.WriteAllBytes(Path.Combine(Sub("onnx"), "small.onnx"), model.ToByteArray());
    Sub("pth"); // filled by ./run from tests/reference/fixtures/torchvision (real torch.save files)
}

// A PNG of one IHDR, one IDAT and IEND (PNG specification), from raw (filtered) scanlines.
static byte[] Png(int width, int height, int bitDepth, int colorType, byte[] scanlines)
{
    var z = new MemoryStream();
    using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(scanlines);
    var ihdr = new byte[13];
    System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
    System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
    ihdr[8] = (byte)bitDepth; ihdr[9] = (byte)colorType;
    var png = new MemoryStream();
    png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
    foreach (var (type, body) in new[] { ("IHDR", ihdr), ("IDAT", z.ToArray()), ("IEND", Array.Empty<byte>()) })
    {
        var chunk = System.Text.Encoding.ASCII.GetBytes(type).Concat(body).ToArray();
        var len = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(len, body.Length);
        png.Write(len);
        png.Write(chunk);
        uint c = 0xFFFFFFFF; // CRC-32 of type and data
        foreach (var b in chunk)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        var crc = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, ~c);
        png.Write(crc);
    }
    return png.ToArray();
}
