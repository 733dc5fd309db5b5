using InputGradients.Shared;

namespace InputGradients.Data;

/// <summary>
/// Finds the repository's <c>data/</c> folder (images, styles, class names, trained weights) from a notebook,
/// a test or a tool: the environment variable <c>INPUTGRADIENTS_DATA</c> if set, else the first <c>data/</c> with
/// a <c>SOURCES.md</c> found walking up from the current directory, then from the application's directory.
/// </summary>
public static class DataDirectory
{
    public const string EnvironmentVariable = "INPUTGRADIENTS_DATA";

    public static string Find()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnv))
            return Directory.Exists(fromEnv)
                ? fromEnv
                : throw new DirectoryNotFoundException($"{EnvironmentVariable} is set to '{fromEnv}', which is not a directory");
        var root = RepositoryRoot.TryFind(System.IO.Path.Combine("data", "SOURCES.md"), Directory.GetCurrentDirectory(), AppContext.BaseDirectory);
        if (root is not null) return System.IO.Path.Combine(root, "data");
        throw new DirectoryNotFoundException(
            $"cannot find the repository's data/ folder (with SOURCES.md) above '{Directory.GetCurrentDirectory()}' " +
            $"or '{AppContext.BaseDirectory}'; set {EnvironmentVariable} to its path");
    }

    /// <summary>A path inside the data folder, e.g. <c>DataDirectory.Path("images", "chelsea.png")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Find(), .. parts]);
}
