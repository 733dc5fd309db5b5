using ToolSupport;

namespace InputGradients.Cli;

/// <summary>Refuses to write a file that the command was given to read (an image, the style photo, the weights).</summary>
static class OutputGuard
{
    /// <summary>Throws when <paramref name="output"/> is one of <paramref name="inputs"/>, also through a symbolic or
    /// hard link (same device and inode), so an input can never be overwritten.</summary>
    public static void Check(string output, IEnumerable<string?> inputs)
    {
        foreach (var input in inputs)
            if (input is not null && PathIdentity.SameFile(output, input))
                throw new CliException($"refusing to write {output}: it is the input file {input}; choose another output.");
    }

    /// <summary>An output folder may hold the inputs, but must not be one of the input files (or any other file).</summary>
    public static void CheckFolder(string folder, IEnumerable<string?> inputs)
    {
        Check(folder, inputs);
        if (File.Exists(folder)) throw new CliException($"--out {folder} is a file; it must be a folder.");
    }
}
