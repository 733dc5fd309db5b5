using System.Reflection;
using InputGradients.Runtime;
using Microsoft.DotNet.Interactive;

namespace InputGradients.Interactive;

/// <summary>
/// The one call a notebook's setup cell makes:
/// <code>
/// #r "../artifacts/bin/InputGradients.Interactive/debug/InputGradients.Interactive.dll"
/// InputGradients.Interactive.Notebook.Setup();
/// </code>
/// It makes the library, TorchSharp and Plotly.NET usable inside the kernel and registers the library's
/// formatters. Idempotent: running the cell twice is harmless.
/// </summary>
public static partial class Notebook
{
    /// <summary>
    /// Assemblies whose types notebook cells use directly (FSharp.Core is the 10.1 that Plotly.NET was built against;
    /// at run time the kernel's 10.0 serves, see Notebook.Runtime.cs). <c>#r</c> of this assembly makes the kernel load
    /// them at run time, but the C# compiler of later cells also needs them as references.
    /// </summary>
    static readonly string[] CellReferences =
    [
        "InputGradients.dll",
        "TorchSharp.dll",
        "Plotly.NET.dll",
        "FSharp.Core.dll",
        "SkiaSharp.dll",
    ];

    /// <summary>Prepares the kernel (see the class) and prints one line naming the runtime and the convolution route in use.</summary>
    public static void Setup()
    {
        EnsureRuntime();
        AddCellReferences();
        RegisterFormatters();
        Console.WriteLine(LibraryRuntime.Describe());
    }

    /// <summary>Implemented in Notebook.Runtime.cs: native TorchSharp loading, FSharp.Core binding.</summary>
    static partial void EnsureRuntime();

    /// <summary>Implemented in Notebook.Formatters.cs: formatters for the library's display types.</summary>
    static partial void RegisterFormatters();

    /// <summary>
    /// Hands the library's public dependencies to the C# kernel running this notebook, so that cells can name
    /// <c>torch</c>, <c>Chart</c> or the library's types without one <c>#r</c> line each.
    /// </summary>
    static void AddCellReferences()
    {
        var kernel = KernelInvocationContext.Current?.HandlingKernel;
        if (kernel is null) return; // not inside a notebook (a test or a console program): nothing to do
        // CSharpKernel.AddAssemblyReferences(IEnumerable<string>) is what `#r "path"` uses; binding it by reflection
        // keeps this assembly free of a compile-time dependency on the kernel's own C# package (the tool's version).
        var add = kernel.GetType().GetMethod("AddAssemblyReferences",
            BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, [typeof(IEnumerable<string>)]);
        if (add is null)
            throw new InvalidOperationException(
                $"The '{kernel.Name}' kernel cannot take assembly references; run this notebook with the C# kernel (.NET Interactive).");
        var folder = Path.GetDirectoryName(typeof(Notebook).Assembly.Location)!;
        var paths = CellReferences.Select(name => Path.Combine(folder, name)).ToArray();
        var missing = paths.Where(p => !File.Exists(p)).ToArray();
        if (missing.Length > 0)
            throw new FileNotFoundException(
                $"The notebook library is incomplete ({string.Join(", ", missing.Select(Path.GetFileName))} missing in {folder}). " +
                "Rebuild it with `./run build` (or `dotnet build lib/InputGradients.Interactive`).");
        if (add.Invoke(kernel, [paths]) is Task task) task.GetAwaiter().GetResult();
    }
}
