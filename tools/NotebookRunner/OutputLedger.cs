using System.Security.Cryptography;
using System.Text;

namespace NotebookRunner;

/// <summary>
/// The files nbrun wrote in an output folder and their SHA-256, kept in <c>OUT/.nbrun-written</c> (one
/// <c>hash  relative/path</c> line each, as sha256sum prints). nbrun deletes or replaces a file only when this ledger
/// says it wrote exactly what is there now: anything else in the folder (a user's file, a link to a source notebook)
/// is never touched.
/// </summary>
public sealed class OutputLedger
{
    public const string FileName = ".nbrun-written";

    readonly string _folder;
    readonly Dictionary<string, string> _hashes = new(StringComparer.Ordinal);

    public OutputLedger(string folder)
    {
        _folder = Path.GetFullPath(folder);
        var path = Path.Combine(_folder, FileName);
        if (!File.Exists(path)) return;
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split("  ", 2);
            if (parts.Length == 2) _hashes[parts[1]] = parts[0];
        }
    }

    string Key(string path) => Path.GetRelativePath(_folder, Path.GetFullPath(path)).Replace('\\', '/');

    /// <summary>A plain file (not a link) whose content is what nbrun recorded writing there.</summary>
    public bool Owns(string path)
    {
        var info = new FileInfo(path);
        return info.Exists && info.LinkTarget is null && _hashes.TryGetValue(Key(path), out var hash) && hash == Hash(path);
    }

    /// <summary>Nothing is there yet, or what is there is nbrun's own earlier output.</summary>
    public bool MayReplace(string path) => !Path.Exists(path) && new FileInfo(path).LinkTarget is null || Owns(path);

    /// <summary>Why nbrun will not replace <paramref name="path"/> (for a file <see cref="MayReplace"/> refuses).</summary>
    public string WhyNotOwned(string path) =>
        new FileInfo(path).LinkTarget is not null ? "is a link, which nbrun did not write"
        : _hashes.ContainsKey(Key(path)) ? "was changed since nbrun wrote it"
        : $"exists and nbrun did not write it (see {FileName} there)";

    /// <summary>Deletes an earlier output of nbrun's; throws rather than delete anything else.</summary>
    public void DeleteOwn(string path)
    {
        if (!Path.Exists(path) && new FileInfo(path).LinkTarget is null) return;
        if (!Owns(path)) throw new RunnerException($"refusing to delete {Cli.Show(path)}: it {WhyNotOwned(path)}");
        File.Delete(path);
        _hashes.Remove(Key(path));
        Save();
    }

    /// <summary>Records a file nbrun has just written.</summary>
    public void Record(string path)
    {
        _hashes[Key(path)] = Hash(path);
        Save();
    }

    void Save()
    {
        var text = new StringBuilder();
        foreach (var (file, hash) in _hashes.OrderBy(e => e.Key, StringComparer.Ordinal)) text.Append($"{hash}  {file}\n");
        NotebookDocument.WriteAtomically(Path.Combine(_folder, FileName), text.ToString());
    }

    static string Hash(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
