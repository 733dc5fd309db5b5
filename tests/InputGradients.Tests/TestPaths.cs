namespace InputGradients.Tests;

/// <summary>Locations in the repository, found from the test assembly's folder.</summary>
public static class TestPaths
{
    public static readonly string Root = InputGradients.Shared.RepositoryRoot.Find();

    /// <summary>A file or folder under tests/reference/fixtures/.</summary>
    public static string Fixture(params string[] parts) =>
        Path.Combine([Root, "tests", "reference", "fixtures", .. parts]);

    /// <summary>A file or folder under data/.</summary>
    public static string Data(params string[] parts) => Path.Combine([Root, "data", .. parts]);
}
