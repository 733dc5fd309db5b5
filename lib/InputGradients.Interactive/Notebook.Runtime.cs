using System.Reflection;
using InputGradients.Runtime;
using Microsoft.DotNet.Interactive;

namespace InputGradients.Interactive;

public static partial class Notebook
{
    /// <summary>
    /// Inside a kernel, TorchSharp.dll is loaded from this project's output folder, which holds no native files
    /// (see Directory.Build.props), and Plotly.NET meets the kernel's older FSharp.Core. Both are fixed here,
    /// before any cell touches <c>torch</c> or <c>Chart</c>:
    /// <list type="bullet">
    /// <item>at run time, <see cref="LibraryRuntime.Ensure"/> (natives; FSharp.Core binding to the loaded 10.0);</item>
    /// <item>at compile time, the cells' compilation gets Plotly.NET and the FSharp.Core 10.1 it was built against
    /// (beside this assembly) as references; otherwise a cell naming a Plotly.NET type fails with CS1705
    /// ("uses FSharp.Core 10.1 which has a higher version than referenced FSharp.Core 10.0").</item>
    /// </list>
    /// </summary>
    static partial void EnsureRuntime()
    {
        LibraryRuntime.Ensure();
        AddCompileReferences("FSharp.Core.dll", "Plotly.NET.dll");
    }

    static void AddCompileReferences(params string[] files)
    {
        if (KernelInvocationContext.Current?.HandlingKernel is not { } kernel) return; // not in a notebook
        var dir = Path.GetDirectoryName(typeof(Notebook).Assembly.Location) ?? ".";
        var paths = files.Select(f => Path.Combine(dir, f)).Where(File.Exists).ToArray();
        // CSharpKernel.AddAssemblyReferences(IEnumerable<string>) is what `#r "path"` uses; found by reflection so this
        // project needs no compile-time dependency on the C# kernel's exact version.
        var add = kernel.GetType().GetMethod("AddAssemblyReferences", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic,
            [typeof(IEnumerable<string>)]);
        if (add is null)
            throw new InvalidOperationException(
                $"The {kernel.Name} kernel ({kernel.GetType().FullName}) has no AddAssemblyReferences method; add " +
                string.Join(" ", paths.Select(p => $"#r \"{p}\"")) + " to the setup cell.");
        var result = add.Invoke(kernel, [paths]);
        if (result is Task task) task.GetAwaiter().GetResult();
    }
}
