namespace InputGradients.Serialization;

/// <summary>A checkpoint file that cannot be read: damaged, of an unsupported format, or asking for something we
/// refuse to do (such as calling a Python function that is not on the allow-list). The message names the file.</summary>
public sealed class CheckpointFormatException : IOException
{
    public string? FilePath { get; }

    public CheckpointFormatException(string? path, string message, Exception? inner = null)
        : base(path is null ? message : $"{path}: {message}", inner) => FilePath = path;
}
