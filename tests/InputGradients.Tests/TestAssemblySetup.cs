using System.Runtime.CompilerServices;
using InputGradients.Runtime;

namespace InputGradients.Tests;

/// <summary>Prepares TorchSharp's natives and Plotly.NET's FSharp.Core before any test runs, so every test can use torch.</summary>
static class TestAssemblySetup
{
    [ModuleInitializer]
    internal static void Initialize() => LibraryRuntime.Ensure();
}
