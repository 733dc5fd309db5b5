namespace InputGradients.Interactive;

/// <summary>
/// The one call a notebook's setup cell makes:
/// <code>
/// #r "../artifacts/bin/InputGradients.Interactive/debug/InputGradients.Interactive.dll"
/// InputGradients.Interactive.Notebook.Setup();
/// </code>
/// It makes TorchSharp and Plotly.NET usable inside the kernel and registers the library's formatters.
/// Idempotent: running the cell twice is harmless.
/// </summary>
public static partial class Notebook
{
    public static void Setup()
    {
        EnsureRuntime();
        RegisterFormatters();
    }

    /// <summary>Implemented in Notebook.Runtime.cs: native TorchSharp loading, FSharp.Core binding.</summary>
    static partial void EnsureRuntime();

    /// <summary>Implemented in Notebook.Formatters.cs: formatters for the library's display types.</summary>
    static partial void RegisterFormatters();
}
