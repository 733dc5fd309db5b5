namespace InputGradients.Models.ImageNet;

/// <summary>
/// Finds the ImageNet ResNet-18 ONNX files (package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1, MIT).
/// The library's build copies them to <c>models/resnet18/</c> beside every output that references it;
/// failing that, they are read from the restored package folder.
/// </summary>
public static class ResNet18Files
{
    public const string PackageId = "microsoft.ml.dnnimagefeaturizer.resnet18";
    public const string PackageVersion = "0.23.1";
    public const string ModelFileName = "ResNet18.onnx";
    public const string PreprocessFileName = "ResNetPreprocess.onnx";

    /// <summary>Environment variable naming a folder that holds both files (overrides the search).</summary>
    public const string DirectoryVariable = "INPUTGRADIENTS_RESNET18_DIR";

    /// <summary>The backbone graph's path.</summary>
    public static string ModelPath(string? directory = null) => Locate(ModelFileName, directory);

    /// <summary>The preprocessing graph's path.</summary>
    public static string PreprocessPath(string? directory = null) => Locate(PreprocessFileName, directory);

    /// <summary>Folders searched, in order.</summary>
    public static IReadOnlyList<string> SearchFolders(string? directory = null)
    {
        var folders = new List<string>();
        if (directory is not null) { folders.Add(directory); return folders; }
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } env) folders.Add(env);
        // Beside this assembly: notebooks load it from artifacts/bin/..., whose AppContext.BaseDirectory is the kernel's.
        var here = Path.GetDirectoryName(typeof(ResNet18Files).Assembly.Location);
        if (!string.IsNullOrEmpty(here)) folders.Add(Path.Combine(here, "models", "resnet18"));
        folders.Add(Path.Combine(AppContext.BaseDirectory, "models", "resnet18"));
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } np
            ? np
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var tools = Path.Combine(packages, PackageId, PackageVersion, "tools", "DnnImageModels");
        folders.Add(Path.Combine(tools, "ResNet18Onnx"));
        folders.Add(Path.Combine(tools, "ResNetPrepOnnx"));
        return folders.Distinct().ToList();
    }

    static string Locate(string fileName, string? directory)
    {
        var folders = SearchFolders(directory);
        foreach (var folder in folders)
        {
            var path = Path.Combine(folder, fileName);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"{fileName} (ImageNet ResNet-18, NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 {PackageVersion}) was not found. " +
            $"Build lib/InputGradients (it restores the package and copies the file to models/resnet18/ in the output), " +
            $"or set {DirectoryVariable} to a folder holding it. Looked in: {string.Join("; ", folders)}", fileName);
    }
}
