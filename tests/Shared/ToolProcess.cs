using System.Diagnostics;
using System.Security.Cryptography;

namespace ToolSupport.Tests;

/// <summary>
/// Runs a tool as its own process, as a user would: <c>dotnet tool.dll args</c>, with the tool's build output that the
/// test project copies beside itself (it references the tool's project). Linked into each tool's test project.
/// </summary>
static class ToolProcess
{
    public static (int Exit, string Output) Run(string assembly, string workingDirectory, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} not built", dll);
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "1";   // plain output, no progress bars
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{assembly} {string.Join(' ', args)} did not finish in 10 minutes");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>The output with console line wrapping undone, for checking a message that is one line.</summary>
    public static string Unwrapped(string output) => string.Join(' ', output.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries));

    public static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>SHA-256 of every file under a folder (links followed), keyed by path relative to it.</summary>
    public static Dictionary<string, string> HashTree(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(p => Path.GetRelativePath(folder, p), Hash);

    /// <summary>Runs <c>ln</c> (hard link, or symbolic with -s), as a user would make the link.</summary>
    public static void Link(params string[] args)
    {
        var psi = new ProcessStartInfo("ln") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new IOException($"ln {string.Join(' ', args)}: {error}");
    }
}
