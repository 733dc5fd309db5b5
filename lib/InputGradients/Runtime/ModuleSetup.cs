using System.Runtime.CompilerServices;

namespace InputGradients.Runtime;

/// <summary>
/// Runs <see cref="LibraryRuntime.Ensure"/> when this library is first used, so a console program that calls the
/// library needs no manual step. Why a module initializer rather than static constructors of the torch-using types:
/// it covers every type at once, including ones added later, and costs a few milliseconds once per process.
/// Limits: it runs on the first use of any InputGradients type; a program that calls <c>TorchSharp.torch</c> before
/// touching this library must call <see cref="LibraryRuntime.Ensure"/> (or <see cref="TorchRuntime.EnsureLoaded"/>)
/// first. Notebooks call it through <c>Notebook.Setup()</c>, the tests through their own module initializer.
/// A failure is not thrown from here (that would break the whole library, even code without torch, with a
/// TypeInitializationException); it is written to stderr once, and every later explicit call throws it again.
/// </summary>
static class ModuleSetup
{
#pragma warning disable CA2255 // deliberate: the library's natives must be prepared before its first torch call
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        try
        {
            LibraryRuntime.Ensure();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"InputGradients: TorchSharp cannot be used in this process: {e.Message}");
        }
    }
}
