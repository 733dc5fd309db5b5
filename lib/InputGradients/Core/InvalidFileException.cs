using System.Text;

namespace InputGradients.Core;

/// <summary>
/// A file that cannot be read: damaged, truncated, of an unsupported kind, larger than the <see cref="LoadLimits"/>
/// allow, or asking for something the reader refuses to do. The message is one line that starts with the file's name
/// and says what is wrong; text taken from the file is passed through <see cref="Sanitize"/> first.
/// <para>The base of <c>CheckpointFormatException</c> (.pth, .safetensors) and <c>OnnxFormatException</c>. It is an
/// <see cref="IOException"/> because <see cref="InvalidDataException"/>, which the image and IDX readers throw, is
/// sealed; catch <c>IOException</c> to handle every kind of bad file.</para>
/// </summary>
public class InvalidFileException : IOException
{
    /// <summary>The file (or the name given for in-memory data), if known.</summary>
    public string? FilePath { get; }

    public InvalidFileException(string? path, string message, Exception? inner = null)
        : base(path is null ? message : $"{path}: {message}", inner) => FilePath = path;

    /// <summary>
    /// Text read from a file, made safe to print: control characters (which can drive a terminal), bidirectional
    /// overrides and invalid UTF-16 become <c>\uXXXX</c>, and anything past <paramref name="max"/> characters is cut.
    /// </summary>
    public static string Sanitize(string? text, int max = 120)
    {
        if (text is null) return "";
        var sb = new StringBuilder();
        for (int i = 0; i < text.Length && sb.Length < max; i++)
        {
            char c = text[i];
            bool pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (pair) { sb.Append(c).Append(text[++i]); continue; }
            if (char.IsControl(c) || char.IsSurrogate(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F')
                sb.Append($"\\u{(int)c:X4}");
            else sb.Append(c);
        }
        return sb.Length >= max && text.Length > max ? sb.ToString(0, max) + "..." : sb.ToString();
    }
}
