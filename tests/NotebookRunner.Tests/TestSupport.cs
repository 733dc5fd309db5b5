using System.Security.Cryptography;
using Spectre.Console;

namespace NotebookRunner.Tests;

static class Fixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures");
    public static string Path_(string name) => Path.Combine(Dir, name);
}

/// <summary>A scratch folder with copies of fixture notebooks in <c>notebooks/</c>, deleted afterwards.</summary>
sealed class Scratch : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("nbrun-test-").FullName;
    public string Notebooks => Path.Combine(Root, "notebooks");
    public string Out => Path.Combine(Root, "out");

    public Scratch(params string[] fixtures)
    {
        Directory.CreateDirectory(Notebooks);
        foreach (var f in fixtures) File.Copy(Fixtures.Path_(f), Path.Combine(Notebooks, f));
    }

    public string Notebook(string name) => Path.Combine(Notebooks, name);

    /// <summary>SHA-256 of every file under notebooks/, to prove the sources are untouched.</summary>
    public Dictionary<string, string> HashSources() =>
        Directory.EnumerateFiles(Notebooks, "*", SearchOption.AllDirectories)
            .ToDictionary(p => p, p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))));

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

static class CliRunner
{
    /// <summary>Runs nbrun's command line in-process with a plain (CI-style) console; returns exit code and text.</summary>
    public static async Task<(int Exit, string Text)> Run(params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        int exit = await Cli.RunAsync(args, console, interactive: false);
        return (exit, writer.ToString());
    }

    public static string LastLine(string text) =>
        text.Split('\n').Select(l => l.TrimEnd()).Last(l => l.Length > 0);
}
