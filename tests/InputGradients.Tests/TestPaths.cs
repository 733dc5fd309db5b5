namespace InputGradients.Tests;

/// <summary>Locations in the repository, found from the test assembly's folder.</summary>
public static class TestPaths
{
    public static readonly string Root = FindRoot();

    /// <summary>A file or folder under tests/reference/fixtures/.</summary>
    public static string Fixture(params string[] parts) =>
        Path.Combine([Root, "tests", "reference", "fixtures", .. parts]);

    /// <summary>A file or folder under data/.</summary>
    public static string Data(params string[] parts) => Path.Combine([Root, "data", .. parts]);

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Notebooks.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("The repository root (with Notebooks.sln) was not found above " + AppContext.BaseDirectory);
    }
}
