using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace NotebookRunner;

/// <summary>
/// Finds the dotnet-repl entry assembly pinned by the repository's local tool manifest.
/// <c>dotnet tool run</c> only finds a manifest above the current directory, and dotnet repl resolves a notebook's
/// relative <c>#r "../artifacts/..."</c> paths against its current directory (its <c>--working-dir</c> option does
/// not change that), so the runner starts the tool's assembly itself with the notebook's folder as current directory.
/// </summary>
public sealed record ReplTool(string EntryAssembly, string Version, string Manifest)
{
    public const string PackageId = "dotnet-repl";

    /// <summary>Looks for the manifest above each of <paramref name="startDirectories"/> in turn.</summary>
    public static ReplTool Locate(IEnumerable<string> startDirectories)
    {
        string? manifest = startDirectories.Select(FindManifest).FirstOrDefault(m => m is not null);
        if (manifest is null)
            throw new RunnerException(
                "no local tool manifest (.config/dotnet-tools.json) found above the notebooks, the current folder or nbrun itself");

        var version = (JsonNode.Parse(File.ReadAllText(manifest))?["tools"]?[PackageId]?["version"]?.GetValue<string>())
            ?? throw new RunnerException($"{manifest} does not list {PackageId}: run `dotnet tool install {PackageId}` in the repository");

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var toolsDir = Path.Combine(packages, PackageId, version.ToLowerInvariant(), "tools");
        var settings = Directory.Exists(toolsDir)
            ? Directory.EnumerateFiles(toolsDir, "DotnetToolSettings.xml", SearchOption.AllDirectories).Order().LastOrDefault()
            : null;
        if (settings is null)
            throw new RunnerException(
                $"{PackageId} {version} is not restored (looked in {toolsDir}): run `dotnet tool restore` in {RepoOf(manifest)}");

        var entry = XDocument.Load(settings).Descendants("Command").Select(c => (string?)c.Attribute("EntryPoint")).FirstOrDefault()
            ?? throw new RunnerException($"{settings}: no Command EntryPoint");
        var dll = Path.Combine(Path.GetDirectoryName(settings)!, entry);
        if (!File.Exists(dll)) throw new RunnerException($"{PackageId} {version}: {dll} is missing: run `dotnet tool restore`");
        return new ReplTool(dll, version, manifest);
    }

    static string RepoOf(string manifest)
    {
        var dir = Path.GetDirectoryName(manifest)!;
        return Path.GetFileName(dir) == ".config" ? Path.GetDirectoryName(dir)! : dir;
    }

    static string? FindManifest(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, ".config", "dotnet-tools.json"), Path.Combine(dir.FullName, "dotnet-tools.json") })
                if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>A problem with the run itself (bad arguments, missing tool), reported without a stack trace.</summary>
public sealed class RunnerException(string message) : Exception(message);
