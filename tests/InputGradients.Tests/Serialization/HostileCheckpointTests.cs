using System.IO.Compression;
using InputGradients.Core;
using InputGradients.Serialization;
using TorchSharp;
using static InputGradients.Tests.Serialization.PickleBytes;

namespace InputGradients.Tests.Serialization;

/// <summary>
/// Hand-made hostile .pth files: structures that used to overflow the stack or take exponential time, sizes that
/// used to be allocated before being checked, and text that must not reach a terminal raw. Cases that would kill
/// the process on a regression (a stack overflow cannot be caught in .NET) are first read in a child process
/// (tests/CleanProcess) on a small stack, so a regression fails the test instead of killing the test host; only then
/// are they read here, on a thread with a small stack, to check what was loaded. The CLI is tested the same way
/// (InputGradients.Cli.Tests).
/// </summary>
public class HostileCheckpointTests
{
    /// <summary>
    /// Reads <paramref name="path"/> in a child process with a 256 KB stack and returns its one-line outcome
    /// ("loaded" or "refused: MESSAGE"); fails the test if the reader crashed or hung the child.
    /// </summary>
    static string ReadInChildProcess(string path, int? maxNestingDepth = null)
    {
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => e.Value as string ?? "");
        string[] args = [Runtime.CleanProcessTests.CleanProcessDll(), "pth", path, .. maxNestingDepth is { } d ? [d.ToString()] : Array.Empty<string>()];
        var (code, output) = Runtime.CleanProcessTests.Run(Runtime.CleanProcessTests.DotnetHost, args, TestPaths.Root, environment, TimeSpan.FromSeconds(60));
        var lines = output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        Assert.True(code == 0, $"reading {Path.GetFileName(path)} crashed the process (exit {code}): {lines.FirstOrDefault()}");
        return lines.LastOrDefault() ?? ""; // the outcome is the child's last line
    }

    /// <summary>Runs <paramref name="f"/> on a thread with a 256 KB stack: deep recursion would show up quickly.</summary>
    static T OnSmallStack<T>(Func<T> f)
    {
        T result = default!;
        Exception? error = null;
        var t = new Thread(() => { try { result = f(); } catch (Exception e) { error = e; } }, 256 * 1024);
        t.Start();
        t.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        return result;
    }

    static string Zip(TempDir dir, string name, byte[] dataPkl, params (string key, byte[] bytes)[] storages)
    {
        var path = dir.File(name);
        WriteZip(path, dataPkl, storages);
        return path;
    }

    static byte[] NestedTuples(int depth)
    {
        var ms = new MemoryStream();
        ms.Write(Proto2);
        ms.Write(Int(1));
        for (int i = 0; i < depth; i++) ms.WriteByte(0x85); // TUPLE1
        ms.WriteByte((byte)'.');
        return ms.ToArray();
    }

    [Fact]
    public void A_list_that_contains_itself_loads_as_that_list()
    {
        using var dir = new TempDir();
        // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: l = []; l.append(l)
        var path = Zip(dir, "cycle.pth", Cat(Proto2, ']', 'q', (byte)0, 'h', (byte)0, 'a', '.'));
        Assert.Equal("loaded", ReadInChildProcess(path));
        var root = OnSmallStack(() => TorchCheckpoint.Load(path));
        var list = Assert.IsType<List<object?>>(root);
        Assert.Same(list, Assert.Single(list));
        var e = Assert.Throws<CheckpointFormatException>(() => OnSmallStack(() => TorchCheckpoint.LoadStateDict(path)));
        Assert.Contains("holds a list, not a state dict", e.Message);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_with_a_clear_error()
    {
        using var dir = new TempDir();
        var path = Zip(dir, "deep.pth", NestedTuples(200_000));
        Assert.StartsWith("refused: ", ReadInChildProcess(path));
        var e = Assert.Throws<CheckpointFormatException>(() => OnSmallStack(() => TorchCheckpoint.Load(path)));
        Assert.Equal($"{path}: containers are nested more than 1000 deep (LoadLimits.MaxNestingDepth)", e.Message);
    }

    [Fact]
    public void Deep_nesting_within_a_raised_limit_loads_without_recursion()
    {
        using var dir = new TempDir();
        var path = Zip(dir, "deep.pth", NestedTuples(200_000));
        Assert.Equal("loaded", ReadInChildProcess(path, maxNestingDepth: 300_000));
        var root = OnSmallStack(() => TorchCheckpoint.Load(path, LoadLimits.Default with { MaxNestingDepth = 300_000 }));
        int depth = 0;
        for (object? o = root; o is object?[] t; o = t[0]) depth++;
        Assert.Equal(200_000, depth);
    }

    [Fact]
    public void Shared_references_nested_40_deep_load_at_once_and_stay_shared()
    {
        // t0 = []; t(i+1) = (t(i), t(i)): 2^40 paths through 41 objects, in a pickle of about 250 bytes.
        var parts = new List<object> { Proto2, ']', 'q', (byte)0 };
        for (int i = 0; i < 40; i++) parts.AddRange(new object[] { '0', 'h', (byte)i, '2', (byte)0x86, 'q', (byte)(i + 1) }); // POP, BINGET, DUP, TUPLE2, BINPUT
        parts.Add('.');
        var pkl = Cat(parts.ToArray());
        Assert.True(pkl.Length < 300);
        using var dir = new TempDir();
        var path = Zip(dir, "shared.pth", pkl);
        Assert.Equal("loaded", ReadInChildProcess(path));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var root = OnSmallStack(() => TorchCheckpoint.Load(path));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        var top = Assert.IsType<object?[]>(root);
        Assert.Same(top[0], top[1]);
    }

    [Fact]
    public void A_stride_0_view_larger_than_the_tensor_limit_is_refused_before_allocating()
    {
        using var dir = new TempDir();
        // 4 bytes of storage seen as 30000 x 30000 floats: 3.6 GB if materialised.
        var path = Zip(dir, "expand.pth", OneTensorStateDict("w", 1, 0, new[] { 30000, 30000 }, new[] { 0, 0 }), ("0", Floats(1)));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("a tensor of size [30000, 30000] of Float32 would take more than the 2147483648 bytes allowed for one tensor (LoadLimits.MaxTensorBytes)", e.Message);
        // The same view is fine when it fits the caller's limit.
        var small = Zip(dir, "expand-small.pth", OneTensorStateDict("w", 1, 0, new[] { 300, 300 }, new[] { 0, 0 }), ("0", Floats(7)));
        using var sd = TorchCheckpoint.LoadStateDict(small);
        Assert.Equal(7f, sd["w"].max().item<float>());
    }

    [Fact]
    public void Views_add_up_against_the_total_limit()
    {
        using var dir = new TempDir();
        // Two 1 MB views of a 4-byte storage; a 1.5 MB total budget allows only one.
        var pkl = Cat(Proto2, '}', '(',
            Str("a"), Global("torch._utils", "_rebuild_tensor_v2"), '(',
            '(', Str("storage"), Global("torch", "FloatStorage"), Str("0"), Str("cpu"), Int(1), 't', 'Q',
            Int(0), Tuple(512, 512), Tuple(0, 0), (byte)0x89, Global("collections", "OrderedDict"), ')', 'R', 't', 'R', 'q', (byte)1,
            Str("b"), 'h', (byte)1, 'u', '.');
        var path = Zip(dir, "twice.pth", pkl, ("0", Floats(1)));
        var limits = LoadLimits.Default with { MaxTotalBytes = 1_500_000 };
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path, limits));
        Assert.Contains("add up to more than 1500000 bytes, the limit (LoadLimits.MaxTotalBytes)", e.Message);
        using var sd = TorchCheckpoint.LoadStateDict(path);
        Assert.Equal(2, sd.Count);
    }

    [Fact]
    public void A_storage_that_inflates_far_beyond_its_compressed_size_is_refused()
    {
        using var dir = new TempDir();
        var path = dir.File("bomb.pth");
        const int numel = 4 << 20; // 16 MiB of zeros, deflated to about 16 KB
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            void Add(string name, byte[] bytes, CompressionLevel level)
            {
                using var s = zip.CreateEntry(name, level).Open();
                s.Write(bytes);
            }
            Add("archive/data.pkl", OneTensorStateDict("w", numel, 0, new[] { numel }, new[] { 1 }), CompressionLevel.NoCompression);
            Add("archive/data/0", new byte[numel * 4], CompressionLevel.SmallestSize);
        }
        Assert.True(new FileInfo(path).Length < 100_000);
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("archive/data/0 expands", e.Message);
        Assert.Contains("more than 100 to 1 (LoadLimits.MaxCompressionRatio); refused as a possible zip bomb", e.Message);
        using var sd = TorchCheckpoint.LoadStateDict(path, LoadLimits.Default with { MaxCompressionRatio = 2000 });
        Assert.Equal(numel, sd["w"].NumberOfElements);
    }

    [Fact]
    public void A_storage_larger_than_the_tensor_limit_is_refused_before_reading()
    {
        using var dir = new TempDir();
        var path = Zip(dir, "big.pth", OneTensorStateDict("w", 1000, 0, new[] { 1000 }, new[] { 1 }), ("0", new byte[4000]));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path, LoadLimits.Default with { MaxTensorBytes = 1000 }));
        Assert.Contains("storage '0' claims 1000 Float32 values, more than the 1000 bytes allowed for one tensor", e.Message);
    }

    static byte[] Long1(System.Numerics.BigInteger v)
    {
        var b = v.ToByteArray(isUnsigned: false, isBigEndian: false);
        return Cat((byte)0x8a, (byte)b.Length, b);
    }

    [Fact]
    public void Integers_beyond_32_bits_are_read_as_integers_and_beyond_64_bits_are_called_too_large()
    {
        using var dir = new TempDir();
        byte[] Pkl(byte[] dim) => Cat(Proto2, '}', Str("w"), Global("torch._utils", "_rebuild_tensor_v2"), '(',
            '(', Str("storage"), Global("torch", "FloatStorage"), Str("0"), Str("cpu"), Int(4), 't', 'Q',
            Int(0), '(', dim, 't', Tuple(1), (byte)0x89, Global("collections", "OrderedDict"), ')', 'R', 't', 'R', 's', '.');
        var p31 = Zip(dir, "p31.pth", Pkl(Long1(System.Numerics.BigInteger.Pow(2, 31))), ("0", Floats(1, 2, 3, 4)));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(p31));
        Assert.Contains("a tensor of size [2147483648], stride [1], offset 0 reaches element 2147483647 of storage '0', which has only 4", e.Message);
        var p64 = Zip(dir, "p64.pth", Pkl(Long1(System.Numerics.BigInteger.Pow(2, 64))), ("0", Floats(1, 2, 3, 4)));
        e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(p64));
        Assert.Contains("size has an entry 18446744073709551616, too large for a 64-bit size", e.Message);
        Assert.DoesNotContain("non-integer", e.Message);
    }

    [Fact]
    public void A_view_whose_extent_overflows_is_refused_not_crashed()
    {
        using var dir = new TempDir();
        byte[] dims = Cat('(', Long1(long.MaxValue / 2), Long1(4), 't');
        var pkl = Cat(Proto2, '}', Str("w"), Global("torch._utils", "_rebuild_tensor_v2"), '(',
            '(', Str("storage"), Global("torch", "FloatStorage"), Str("0"), Str("cpu"), Int(4), 't', 'Q',
            Int(0), Tuple(1, 1), dims, (byte)0x89, Global("collections", "OrderedDict"), ')', 'R', 't', 'R', 's', '.');
        var path = Zip(dir, "overflow.pth", pkl, ("0", Floats(1, 2, 3, 4)));
        using var sd = TorchCheckpoint.LoadStateDict(path); // size 1 x 1: the huge strides are never stepped
        var pkl2 = Cat(Proto2, '}', Str("w"), Global("torch._utils", "_rebuild_tensor_v2"), '(',
            '(', Str("storage"), Global("torch", "FloatStorage"), Str("0"), Str("cpu"), Int(4), 't', 'Q',
            Int(0), Tuple(3, 3), dims, (byte)0x89, Global("collections", "OrderedDict"), ')', 'R', 't', 'R', 's', '.');
        var path2 = Zip(dir, "overflow2.pth", pkl2, ("0", Floats(1, 2, 3, 4)));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.LoadStateDict(path2));
        Assert.Contains("reaches element 2^63 or beyond of storage '0'", e.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void A_damaged_zip_is_reported_as_damaged(double keep)
    {
        using var dir = new TempDir();
        var good = Zip(dir, "good.pth", OneTensorStateDict("w", 4, 0, new[] { 4 }, new[] { 1 }), ("0", Floats(1, 2, 3, 4)));
        var bytes = File.ReadAllBytes(good);
        var rng = new Random(1);
        for (int trial = 0; trial < 200; trial++)
        {
            var bad = (byte[])bytes.Clone();
            int n = (int)(bad.Length * keep);
            for (int k = 0; k < 3; k++) bad[rng.Next(n, bad.Length)] ^= (byte)(1 + rng.Next(255));
            var path = dir.File($"bad{trial}.pth");
            File.WriteAllBytes(path, bad);
            try { TorchCheckpoint.LoadStateDict(path).Dispose(); }
            catch (CheckpointFormatException e) { Assert.StartsWith(path + ": ", e.Message); }
        }
    }

    [Fact]
    public void Names_from_the_file_are_sanitized_in_messages()
    {
        using var dir = new TempDir();
        var path = Zip(dir, "esc.pth", Cat(Proto2, Global("os\u001b[2J", "system\u0007"), ')', 'R', '.'));
        var e = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.DoesNotContain('\u001b', e.Message);
        Assert.DoesNotContain('\u0007', e.Message);
        Assert.Contains("'os\\u001B[2J.system\\u0007'", e.Message);
    }
}
