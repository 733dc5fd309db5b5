using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using InputGradients.Data;

namespace InputGradients.Cli.Tests;

/// <summary>
/// Hostile weight files given to <c>inputgrad --weights</c>, run as a child process: a stack overflow or a hang
/// there fails the test (exit code, timeout) instead of killing the test host. Each must end with exit code 1 and
/// one clear line naming the file.
/// </summary>
public sealed class HostileWeightsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("inputgrad-hostile-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static (int Exit, string Output) RunChild(TimeSpan timeout, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "inputgrad.dll");
        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("INPUTGRAD_DEBUG");
        using var proc = Process.Start(psi)!;
        var stdout = proc.StandardOutput.ReadToEndAsync();
        var stderr = proc.StandardError.ReadToEndAsync();
        if (!proc.WaitForExit(timeout))
        {
            proc.Kill(entireProcessTree: true);
            proc.WaitForExit();
            return (-1, $"timed out after {timeout}\n{stdout.Result}{stderr.Result}");
        }
        return (proc.ExitCode, stdout.Result + stderr.Result);
    }

    string Pth(string name, byte[] dataPkl)
    {
        var path = Path.Combine(_dir, name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) s.Write(dataPkl);
        return path;
    }

    /// <summary>The output as one line: the console wraps long messages at its width (80 when redirected).</summary>
    static string Unwrapped(string output) => System.Text.RegularExpressions.Regex.Replace(output.Trim(), @"\s*\n\s*", " ");

    static void AssertOneClearLine(string weights, int exit, string output)
    {
        Assert.True(exit == 1, $"exit code {exit}\n{output}");
        var line = Unwrapped(output);
        Assert.StartsWith("inputgrad: error: ", line);
        Assert.Contains(weights, line);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(line, System.Text.RegularExpressions.Regex.Escape(weights)));
        Assert.DoesNotContain(" at ", line); // no stack frames, managed or native
        Assert.DoesNotContain("Exception", line);
    }

    public static TheoryData<string, byte[], string> Pickles()
    {
        var deep = new MemoryStream();
        deep.Write([0x80, 2, (byte)'K', 1]);
        for (int i = 0; i < 200_000; i++) deep.WriteByte(0x85); // TUPLE1
        deep.WriteByte((byte)'.');
        var shared = new MemoryStream();
        shared.Write([0x80, 2, (byte)']', (byte)'q', 0]);
        for (int i = 0; i < 40; i++) shared.Write([(byte)'0', (byte)'h', (byte)i, (byte)'2', 0x86, (byte)'q', (byte)(i + 1)]);
        shared.WriteByte((byte)'.');
        return new()
        {
            { "self-referencing list", [0x80, 2, (byte)']', (byte)'q', 0, (byte)'h', 0, (byte)'a', (byte)'.'], "holds a list, not a state dict" },
            { "200000 nested tuples", deep.ToArray(), "nested more than 1000 deep" },
            { "shared references 40 deep", shared.ToArray(), "holds a tuple, not a state dict" },
        };
    }

    [Theory]
    [MemberData(nameof(Pickles))]
    public void A_hostile_pickle_gives_one_clear_line(string what, byte[] pkl, string expected)
    {
        var weights = Pth(what.Replace(' ', '-') + ".pth", pkl);
        var (exit, output) = RunChild(TimeSpan.FromMinutes(2), "saliency", "--model", "squeezenet", "--weights", weights,
            DataDirectory.Path("images", "dog.jpg"), "-o", _dir);
        AssertOneClearLine(weights, exit, output);
        Assert.Contains(expected, Unwrapped(output));
    }

    [Fact]
    public void A_safetensors_tensor_of_2_to_the_62_elements_gives_one_clear_line()
    {
        var header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}");
        var weights = Path.Combine(_dir, "huge.safetensors");
        var bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(weights, bytes);
        var (exit, output) = RunChild(TimeSpan.FromMinutes(2), "saliency", "--model", "squeezenet", "--weights", weights,
            DataDirectory.Path("images", "dog.jpg"), "-o", _dir);
        AssertOneClearLine(weights, exit, output);
        Assert.Contains("tensor 'w'", Unwrapped(output));
    }
}
