using InputGradients.Core;

namespace InputGradients.Models.Onnx;

/// <summary>An ONNX file that cannot be read or does not have the structure the caller expects. The message starts
/// with the file's name.</summary>
public sealed class OnnxFormatException : InvalidFileException
{
    public OnnxFormatException(string message) : base(null, message) { }
    public OnnxFormatException(string message, Exception inner) : base(null, message, inner) { }
}
