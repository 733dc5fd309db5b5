namespace InputGradients.Shared;

/// <summary>
/// The one way to find the repository from a notebook, a tool, a test or the bench: the nearest folder, walking up
/// from each start in turn, that holds <see cref="Marker"/> (or another marker file the caller names).
/// Compiled into the library, the tools, the tests and the bench from <c>tools/Shared/</c>.
/// </summary>
internal static class RepositoryRoot
{
    public const string Marker = "Notebooks.sln";

    /// <summary>The nearest folder above one of <paramref name="starts"/> (in order) holding <paramref name="marker"/>, or null.</summary>
    public static string? TryFind(string marker, params string[] starts)
    {
        foreach (var start in starts)
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, marker))) return dir.FullName;
        return null;
    }

    /// <summary>The folder holding <c>Notebooks.sln</c> above <paramref name="starts"/> (default: the application's folder).</summary>
    public static string Find(params string[] starts)
    {
        if (starts.Length == 0) starts = [AppContext.BaseDirectory];
        return TryFind(Marker, starts) ?? throw new DirectoryNotFoundException(
            $"The repository root (the folder with {Marker}) is not above {string.Join(" or ", starts)}.");
    }
}
