using System.Diagnostics;
using System.IO.Compression;
using Google.Protobuf;
using InputGradients.Core;
using InputGradients.Data;
using InputGradients.Imaging;
using InputGradients.Models.Onnx;
using InputGradients.Models.Onnx.Proto;
using InputGradients.Serialization;
using InputGradients.Tests.Imaging;
using InputGradients.Tests.Serialization;
using TorchSharp;
using Xunit.Abstractions;

namespace InputGradients.Tests.Fuzz;

/// <summary>
/// A deterministic in-process mutation fuzzer over the readers of outside bytes: valid seed files are damaged
/// (bit flips, interesting integers, truncation, duplicated and deleted spans, inserted bytes) with a fixed seed,
/// and every result must either load or fail with the reader's documented exception, whose message is one line
/// naming the file and holding no control characters. Tight <see cref="LoadLimits"/> keep memory bounded; the
/// process's working set is checked too. Each reader gets a fixed number of inputs or a time budget, whichever ends
/// first, so the test stays cheap on a shared machine; a failing input is written under the temp folder to replay.
/// For a longer run set PARSER_FUZZ_ITERATIONS, PARSER_FUZZ_SECONDS (per reader) and PARSER_FUZZ_SEED.
/// </summary>
public sealed class ParserMutationTests(ITestOutputHelper output)
{
    static readonly int Iterations = Setting("PARSER_FUZZ_ITERATIONS", 2500);
    static readonly TimeSpan Budget = TimeSpan.FromSeconds(Setting("PARSER_FUZZ_SECONDS", 20));
    static readonly int BaseSeed = Setting("PARSER_FUZZ_SEED", 0);

    static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;
    static readonly LoadLimits Tight = LoadLimits.Default with
    {
        MaxPixels = 4_000_000, MaxTensorBytes = 64 << 20, MaxTotalBytes = 256 << 20, MaxNestingDepth = 200,
    };

    /// <summary>One damaged copy of <paramref name="seed"/>.</summary>
    static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(7))
            {
                case 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b[at] = (byte)rng.Next(256); break;
                case 2: // an interesting 32-bit integer, either byte order
                    {
                        uint[] values = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x4000_0000];
                        var v = BitConverter.GetBytes(values[rng.Next(values.Length)]);
                        if (rng.Next(2) == 0) Array.Reverse(v);
                        for (int i = 0; i < 4 && at + i < b.Count; i++) b[at + i] = v[i];
                        break;
                    }
                case 3: b.RemoveRange(at, b.Count - at); break; // truncate
                case 4: b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16))); break;
                case 5: // duplicate a span
                    {
                        int len = Math.Min(b.Count - at, 1 + rng.Next(64));
                        b.InsertRange(rng.Next(b.Count), b.GetRange(at, len));
                        break;
                    }
                default: b.Insert(at, (byte)rng.Next(256)); break;
            }
        }
        return b.ToArray();
    }

    /// <summary>Runs <paramref name="read"/> on mutants of each seed; <paramref name="expected"/> says which exceptions are allowed.</summary>
    void Fuzz(string kind, string extension, IReadOnlyList<byte[]> seeds, Action<string, byte[]> read, Func<Exception, bool> expected, int seed = 1)
    {
        using var dir = new TempDir();
        var rng = new Random(BaseSeed * 1000 + seed);
        var watch = Stopwatch.StartNew();
        long baseline = Process.GetCurrentProcess().WorkingSet64;
        int runs = 0, loaded = 0;
        for (; runs < Iterations && watch.Elapsed < Budget; runs++)
        {
            var input = Mutate(seeds[runs % seeds.Count], rng);
            var path = dir.File($"{kind}-{runs}{extension}");
            File.WriteAllBytes(path, input);
            try
            {
                using (torch.NewDisposeScope()) read(path, input);
                loaded++;
            }
            catch (Exception e) when (expected(e))
            {
                string why = e.Message.StartsWith(path) ? "" : "does not start with the file name";
                if (e.Message.Contains('\n') || e.Message.Any(char.IsControl)) why = "is not one clean line";
                if (why != "") Fail(kind, runs, input, $"message {why}: {e.Message}");
            }
            catch (Exception e)
            {
                Fail(kind, runs, input, $"{e.GetType().FullName}: {e.Message}\n{e.StackTrace}");
            }
            File.Delete(path);
            if (runs % 100 == 0)
            {
                long grown = Process.GetCurrentProcess().WorkingSet64 - baseline;
                if (grown > 1L << 30) Fail(kind, runs, input, $"working set grew by {grown >> 20} MB");
            }
        }
        output.WriteLine($"{kind}: {runs} inputs in {watch.Elapsed.TotalSeconds:F1} s, {loaded} loaded, {runs - loaded} refused with the documented exception");
        Assert.True(runs >= 100, $"{kind}: only {runs} inputs ran in {Budget}");
        Assert.True(loaded < runs, $"{kind}: every mutant loaded; the mutations do not reach the reader");
    }

    static void Fail(string kind, int run, byte[] input, string what)
    {
        var keep = Path.Combine(Path.GetTempPath(), $"parser-fuzz-{kind}-{run}.bin");
        File.WriteAllBytes(keep, input);
        Assert.Fail($"{kind} input {run} (saved as {keep}): {what}");
    }

    static bool Checkpoint(Exception e) => e is CheckpointFormatException;
    static bool BadData(Exception e) => e is InvalidDataException;

    [Fact]
    public void Pth_reader()
    {
        var seeds = new[] { "views.pth", "views_legacy.pth" }.Select(f => File.ReadAllBytes(TorchVisionFixtures.File(f))).ToList();
        using (var dir = new TempDir())
        {
            var p = dir.File("hand.pth");
            PickleBytes.WriteZip(p, PickleBytes.OneTensorStateDict("w", 4, 1, [3], [1]), ("0", PickleBytes.Floats(1, 2, 3, 4)));
            seeds.Add(File.ReadAllBytes(p));
        }
        Fuzz("pth", ".pth", seeds, (path, _) => TorchCheckpoint.Load(path, Tight), Checkpoint);
    }

    [Fact]
    public void Safetensors_reader()
    {
        using var dir = new TempDir();
        var p = dir.File("seed.safetensors");
        using (var scope = torch.NewDisposeScope())
            SafeTensors.Save(new Dictionary<string, torch.Tensor>
            {
                ["a"] = torch.arange(6, dtype: torch.float32).reshape(2, 3),
                ["b.weight"] = torch.ones(4, dtype: torch.int64),
                ["c"] = torch.zeros(0, 3, dtype: torch.float16),
            }, p, new Dictionary<string, string> { ["format"] = "pt" });
        Fuzz("safetensors", ".safetensors", [File.ReadAllBytes(p)], (path, _) => SafeTensors.Load(path, Tight).Dispose(), Checkpoint);
    }

    [Fact]
    public void Image_reader()
    {
        var seeds = new List<byte[]>
        {
            PngWriter.Encode(7, 5, 2, 8, Enumerable.Range(0, 105).Select(i => (ushort)(i * 2)).ToArray()),
            PngWriter.Encode(6, 4, 6, 16, Enumerable.Range(0, 96).Select(i => (ushort)(i * 600)).ToArray()),
            PngWriter.Encode(5, 3, 4, 16, Enumerable.Range(0, 30).Select(i => (ushort)(i * 2000)).ToArray()),
            PngWriter.Encode(4, 4, 3, 8, Enumerable.Range(0, 16).Select(i => (ushort)(i % 3)).ToArray(), [255, 0, 0, 0, 255, 0, 0, 0, 255]),
            // GIF89a, 1x1, two colours, one frame (GIF specification)
            "GIF89a"u8.ToArray().Concat(new byte[] { 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B }).ToArray(),
        };
        using (var scope = torch.NewDisposeScope())
        using (var dir = new TempDir())
        {
            var jpg = dir.File("seed.png");
            ImageIO.SavePng(torch.rand(3, 8, 8), jpg);
            seeds.Add(File.ReadAllBytes(jpg));
        }
        Fuzz("image", ".img", seeds, (path, bytes) => ImageIO.Decode(bytes, path, limits: Tight).Dispose(), BadData);
    }

    [Fact]
    public void Idx_reader()
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)i).ToArray();
        var plain = new byte[] { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4 }.Concat(data).ToArray();
        Fuzz("idx", "", [plain], (path, _) => Idx.Read(path, Tight), BadData);
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true)) z.Write(plain);
        Fuzz("idx-gz", ".gz", [gz.ToArray()], (path, _) => Idx.Read(path, Tight), BadData, seed: 2);
    }

    [Fact]
    public void Onnx_reader()
    {
        var graph = new GraphProto { Name = "prep" };
        graph.Input.Add(new ValueInfoProto { Name = "x" });
        graph.Node.Add(new NodeProto { Name = "split", OpType = "Split", Input = { "x" }, Output = { "r", "g", "b" }, Attribute = { new AttributeProto { Name = "axis", I = 1, Type = AttributeProto.Types.AttributeType.Int } } });
        graph.Node.Add(new NodeProto { Name = "concat", OpType = "Concat", Input = { "b", "g", "r" }, Output = { "bgr" }, Attribute = { new AttributeProto { Name = "axis", I = 1, Type = AttributeProto.Types.AttributeType.Int } } });
        graph.Node.Add(new NodeProto { Name = "sub", OpType = "Sub", Input = { "bgr", "mean" }, Output = { "y" } });
        var mean = new TensorProto { Name = "mean", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 1, 3, 2, 2 } };
        mean.FloatData.Add(Enumerable.Range(0, 12).Select(i => (float)i));
        graph.Initializer.Add(mean);
        var raw = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2, 2 }, RawData = ByteString.CopyFrom(new byte[16]) };
        graph.Initializer.Add(raw);
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        var model = new ModelProto { IrVersion = 3, Graph = graph, OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 8 } } };
        Fuzz("onnx", ".onnx", [model.ToByteArray()], (path, bytes) =>
        {
            var m = OnnxModel.Parse(bytes, path, Tight);
            foreach (var t in m.Graph.Initializer) m.FloatData(t.Name);
            foreach (var n in m.Graph.Node) { m.Consumers(n.Output[0]); }
        }, e => e is OnnxFormatException);
    }

    [Fact]
    public void Ipynb_reader()
    {
        var seeds = Directory.GetFiles(Path.Combine(TestPaths.Root, "notebooks"), "*.ipynb").Order().Take(2).Select(File.ReadAllBytes).ToList();
        seeds.Add("""{"cells":[{"cell_type":"code","id":"c","metadata":{},"execution_count":1,"outputs":[{"output_type":"error","ename":"E","evalue":"v"}],"source":["a\n","b"]}],"metadata":{},"nbformat":4,"nbformat_minor":5}"""u8.ToArray());
        Fuzz("ipynb", ".ipynb", seeds, (path, bytes) =>
        {
            var nb = InputGradients.Shared.Ipynb.Load(path);
            InputGradients.Shared.Ipynb.AddMissingIds(nb, path);
            foreach (var cell in InputGradients.Shared.Ipynb.Cells(nb))
            {
                _ = InputGradients.Shared.Ipynb.Source(cell!) + InputGradients.Shared.Ipynb.CellType(cell!) + InputGradients.Shared.Ipynb.ExecutionCount(cell!);
                foreach (var o in InputGradients.Shared.Ipynb.Outputs(cell!)) _ = InputGradients.Shared.Ipynb.Text(o["evalue"]);
            }
            _ = InputGradients.Shared.Ipynb.Serialize(nb);
        }, BadData, seed: 3);
    }
}
