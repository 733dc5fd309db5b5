using InputGradients.Runtime;

namespace InputGradients.Interactive;

public static partial class Notebook
{
    /// <summary>
    /// Inside a kernel, TorchSharp.dll is loaded from this project's output folder, which holds no native files
    /// (see Directory.Build.props), and Plotly.NET meets the kernel's older FSharp.Core. <see cref="LibraryRuntime.Ensure"/>
    /// fixes both at run time (natives; FSharp.Core binding to the loaded 10.0) before any cell touches <c>torch</c> or
    /// <c>Chart</c>. The compile-time side (cells referencing Plotly.NET and the FSharp.Core 10.1 it was built
    /// against, else CS1705) is <see cref="AddCellReferences"/>.
    /// </summary>
    static partial void EnsureRuntime() => LibraryRuntime.Ensure();
}
