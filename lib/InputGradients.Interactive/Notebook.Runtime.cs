using InputGradients.Runtime;

namespace InputGradients.Interactive;

public static partial class Notebook
{
    /// <summary>
    /// Inside a kernel, TorchSharp.dll is loaded from this project's output folder, which holds no native files
    /// (see Directory.Build.props), and Plotly.NET meets the kernel's older FSharp.Core: both are fixed here,
    /// before any cell touches <c>torch</c> or <c>Chart</c>.
    /// </summary>
    static partial void EnsureRuntime() => LibraryRuntime.Ensure();
}
