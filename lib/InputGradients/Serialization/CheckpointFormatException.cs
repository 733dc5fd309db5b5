using InputGradients.Core;

namespace InputGradients.Serialization;

/// <summary>A checkpoint file that cannot be read: damaged, of an unsupported format, larger than the
/// <see cref="LoadLimits"/> allow, or asking for something we refuse to do (such as calling a Python function that
/// is not on the allow-list). The message names the file.</summary>
public sealed class CheckpointFormatException : InvalidFileException
{
    public CheckpointFormatException(string? path, string message, Exception? inner = null)
        : base(path, message, inner) { }
}
