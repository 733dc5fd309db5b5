using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Serialization;

/// <summary>Files made by tests/reference/make_torchvision_checkpoints.py with Debian's PyTorch.</summary>
internal static class TorchVisionFixtures
{
    public static string RepoRoot => TestPaths.Root;

    public static string Dir => TestPaths.Fixture("torchvision");
    public static string Script => Path.Combine(RepoRoot, "tests", "reference", "make_torchvision_checkpoints.py");
    public static string File(string name) => Path.Combine(Dir, name);

    /// <summary>A raw little-endian float32 file as a tensor of the given shape.</summary>
    public static Tensor ReadF32(string path, long[] shape)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        var floats = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
        return torch.tensor(floats).reshape(shape);
    }

    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> torchMissing = new(() =>
    {
        if (!System.IO.File.Exists(Python)) return $"{Python} does not exist";
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Python, "-c \"import torch, torchvision\"")
            { RedirectStandardError = true, RedirectStandardOutput = true })!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? null : $"{Python} cannot import torch and torchvision (install python3-torch python3-torchvision): {err.Trim().Split('\n').Last()}";
        }
        catch (Exception e) { return $"cannot run {Python}: {e.Message}"; }
    });

    /// <summary>Null when Debian's PyTorch is usable, else why not.</summary>
    public static string? PythonTorchMissing => torchMissing.Value;

    /// <summary>Runs the reference script with extra arguments; throws with its stderr on failure.</summary>
    public static void RunScript(string arguments)
    {
        var psi = new ProcessStartInfo(Python, $"\"{Script}\" {arguments}") { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"reference script failed ({p.ExitCode}): {err.Result}");
    }
}

/// <summary>A fact that is skipped, with the reason, when Debian's PyTorch is not installed.</summary>
public sealed class RequiresPythonTorchFactAttribute : FactAttribute
{
    public RequiresPythonTorchFactAttribute()
    {
        if (TorchVisionFixtures.PythonTorchMissing is string why) Skip = "needs Debian's PyTorch to make the checkpoint: " + why;
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("ig-tv-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}
