using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace InputGradients.Tests.Notebooks;

/// <summary>
/// The kernel VS Code's Polyglot Notebooks extension starts: the repository's pinned <c>dotnet-interactive</c> tool in
/// <c>stdio</c> mode, launched the way the extension's default <c>kernelTransportArgs</c> do
/// (<c>dotnet tool run dotnet-interactive -- [vscode] stdio --working-dir DIR</c>, from the notebook's folder).
/// Commands go in as one JSON envelope a line; events come back the same way, each naming the command's token.
/// </summary>
sealed class StdioKernel : IDisposable
{
    readonly Process process;
    readonly BlockingCollection<JsonObject> events = new();
    readonly List<string> stderr = [];
    int next;

    public StdioKernel(string workingDirectory)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "tool", "run", "dotnet-interactive", "--", "[vscode]", "stdio", "--working-dir", workingDirectory })
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet-interactive");
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.Add(e.Data); };
        process.BeginErrorReadLine();
        new Thread(ReadEvents) { IsBackground = true, Name = "stdio-kernel-reader" }.Start();
        // The kernel announces itself before it takes commands.
        if (!Wait(e => e["eventType"]?.GetValue<string>() == "KernelReady", TimeSpan.FromMinutes(3), out _))
            throw new TimeoutException($"dotnet-interactive did not become ready in 3 minutes. stderr:\n{StandardError}");
    }

    public string StandardError { get { lock (stderr) return string.Join('\n', stderr); } }

    /// <summary>Submits one cell's code to the C# kernel and returns every event of that submission, ending with CommandSucceeded or CommandFailed.</summary>
    public List<JsonObject> Submit(string code, TimeSpan timeout)
    {
        string token = $"cell-{Interlocked.Increment(ref next)}";
        var envelope = new JsonObject
        {
            ["token"] = token,
            ["commandType"] = "SubmitCode",
            ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = "csharp" },
        };
        process.StandardInput.WriteLine(envelope.ToJsonString());
        process.StandardInput.Flush();
        var mine = new List<JsonObject>();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !events.TryTake(out var e, left))
                throw new TimeoutException($"no answer to {token} in {timeout}; stderr:\n{StandardError}");
            string? t = e["command"]?["token"]?.GetValue<string>();
            if (t is null || !(t == token || t.StartsWith(token + ".", StringComparison.Ordinal))) continue;
            mine.Add(e);
            if (t == token && e["eventType"]?.GetValue<string>() is "CommandSucceeded" or "CommandFailed") return mine;
        }
    }

    bool Wait(Func<JsonObject, bool> predicate, TimeSpan timeout, out JsonObject? found)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
            if (events.TryTake(out var e, deadline - DateTime.UtcNow) && predicate(e)) { found = e; return true; }
        found = null;
        return false;
    }

    void ReadEvents()
    {
        try
        {
            while (process.StandardOutput.ReadLine() is { } line)
            {
                if (!line.StartsWith('{')) continue; // a banner line, not an event
                try { if (JsonNode.Parse(line) is JsonObject o) events.Add(o); }
                catch (System.Text.Json.JsonException) { }
            }
        }
        catch (ObjectDisposedException) { }
        catch (IOException) { }
    }

    public void Dispose()
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        process.WaitForExit(10_000);
        process.Dispose();
    }
}
