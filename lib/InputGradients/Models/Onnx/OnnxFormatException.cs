namespace InputGradients.Models.Onnx;

/// <summary>An ONNX file that cannot be read or does not have the structure the caller expects.</summary>
public sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message) : base(message) { }
    public OnnxFormatException(string message, Exception inner) : base(message, inner) { }
}
