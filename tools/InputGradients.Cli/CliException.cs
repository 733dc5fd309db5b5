namespace InputGradients.Cli;

/// <summary>A problem with the user's input (a file, an option): reported as one line, exit code 1, no stack trace.</summary>
public sealed class CliException(string message) : Exception(message);
