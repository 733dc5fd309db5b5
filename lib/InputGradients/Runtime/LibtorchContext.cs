using System.Runtime.InteropServices;

namespace InputGradients.Runtime;

/// <summary>
/// libtorch's process-wide backend switches on <c>at::globalContext()</c>, which TorchSharp does not bind: whether
/// convolutions may use oneDNN (<c>torch.backends.mkldnn.enabled</c> in PyTorch) and whether they may use NNPACK.
/// libtorch reads both on every convolution, forward and backward, so a change takes effect at the next call.
/// The functions are found by their C++ names in libtorch_cpu (Itanium ABI on Linux and macOS, MSVC on Windows);
/// <see cref="Available"/> is false when this libtorch exports none of them.
/// </summary>
public static unsafe class LibtorchContext
{
    static readonly object Gate = new();
    static bool bound;
    static IntPtr context;
    static delegate* unmanaged<IntPtr, byte> getMkldnn;
    static delegate* unmanaged<IntPtr, byte, void> setMkldnn;
    static delegate* unmanaged<IntPtr, byte> getNnpack;
    static delegate* unmanaged<IntPtr, byte, void> setNnpack;
    static delegate* unmanaged<byte> nnpackAvailable;

    /// <summary>Whether the switches could be bound in this process's libtorch.</summary>
    public static bool Available { get { Bind(); return context != IntPtr.Zero; } }

    /// <summary><c>at::globalContext().userEnabledMkldnn()</c>: may convolutions (and other float ops) use oneDNN.</summary>
    public static bool MkldnnEnabled
    {
        get { Require(); return getMkldnn(context) != 0; }
        set { Require(); setMkldnn(context, value ? (byte)1 : (byte)0); }
    }

    /// <summary><c>at::globalContext().userEnabledNNPACK()</c>: may inference convolutions use NNPACK.</summary>
    public static bool NnpackEnabled
    {
        get { Require(); return getNnpack(context) != 0; }
        set { Require(); setNnpack(context, value ? (byte)1 : (byte)0); }
    }

    /// <summary>
    /// <c>at::native::_nnpack_available()</c>: tries to initialise NNPACK. Where it cannot, libtorch prints
    /// "Could not initialize NNPACK! Reason: ..." to stderr on every call; that text is returned in
    /// <paramref name="message"/> instead of reaching the user's terminal (Linux and macOS).
    /// </summary>
    public static bool NnpackAvailable(out string message)
    {
        Require();
        bool available = false;
        message = StandardError.Capture(() => available = nnpackAvailable() != 0).Trim();
        return available;
    }

    static void Require()
    {
        if (!Available)
            throw new InvalidOperationException(
                "This libtorch exports no at::Context backend switches (setUserEnabledMkldnn/NNPACK); " +
                "InputGradients.Runtime.LibtorchContext needs updating for this TorchSharp version.");
    }

    static void Bind()
    {
        if (bound) return;
        lock (Gate)
        {
            if (bound) return;
            if (OpenLibtorchCpu() is { } lib)
            {
                bool windows = OperatingSystem.IsWindows();
                IntPtr Get(string itanium, string msvc) =>
                    NativeLibrary.TryGetExport(lib, windows ? msvc : itanium, out var f) ? f : IntPtr.Zero;
                var global = Get("_ZN2at13globalContextEv", "?globalContext@at@@YAAEAVContext@1@XZ");
                var gm = Get("_ZNK2at7Context17userEnabledMkldnnEv", "?userEnabledMkldnn@Context@at@@QEBA_NXZ");
                var sm = Get("_ZN2at7Context20setUserEnabledMkldnnEb", "?setUserEnabledMkldnn@Context@at@@QEAAX_N@Z");
                var gn = Get("_ZNK2at7Context17userEnabledNNPACKEv", "?userEnabledNNPACK@Context@at@@QEBA_NXZ");
                var sn = Get("_ZN2at7Context20setUserEnabledNNPACKEb", "?setUserEnabledNNPACK@Context@at@@QEAAX_N@Z");
                var na = Get("_ZN2at6native17_nnpack_availableEv", "?_nnpack_available@native@at@@YA_NXZ");
                if (global != 0 && gm != 0 && sm != 0 && gn != 0 && sn != 0 && na != 0)
                {
                    getMkldnn = (delegate* unmanaged<IntPtr, byte>)gm;
                    setMkldnn = (delegate* unmanaged<IntPtr, byte, void>)sm;
                    getNnpack = (delegate* unmanaged<IntPtr, byte>)gn;
                    setNnpack = (delegate* unmanaged<IntPtr, byte, void>)sn;
                    nnpackAvailable = (delegate* unmanaged<byte>)na;
                    context = ((delegate* unmanaged<IntPtr>)global)();
                }
            }
            bound = true;
        }
    }

    /// <summary>The libtorch_cpu this process uses: the one <see cref="TorchRuntime"/> loaded, else TorchSharp's by name.</summary>
    static IntPtr? OpenLibtorchCpu()
    {
        TorchRuntime.EnsureLoaded();
        if (TorchRuntime.Info is { } info &&
            NativeLibrary.TryLoad(Path.Combine(info.LibtorchDirectory, "libtorch_cpu.so"), out var h))
            return h; // already loaded: dlopen hands back the same handle
        return NativeLibrary.TryLoad("torch_cpu", typeof(TorchSharp.torch).Assembly, null, out var byName) ? byName : null;
    }
}

/// <summary>Captures what native code writes to file descriptor 2 during a call (Linux and macOS; elsewhere runs it plainly).</summary>
static unsafe class StandardError
{
    [DllImport("libc", SetLastError = true)] static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] static extern int dup2(int fd, int fd2);
    [DllImport("libc", SetLastError = true)] static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] static extern int pipe(int* fds);
    [DllImport("libc", SetLastError = true)] static extern nint read(int fd, byte* buffer, nint count);

    // The pipe holds at least 4 KiB before a writer blocks (64 KiB on Linux); the calls captured here print one line.
    public static string Capture(Action call)
    {
        if (OperatingSystem.IsWindows()) { call(); return ""; }
        int* fds = stackalloc int[2];
        if (pipe(fds) != 0) { call(); return ""; }
        int saved = dup(2);
        if (saved < 0 || dup2(fds[1], 2) < 0)
        {
            close(fds[0]); close(fds[1]); if (saved >= 0) close(saved);
            call(); return "";
        }
        try { call(); }
        finally
        {
            dup2(saved, 2);
            close(saved);
            close(fds[1]);
        }
        var text = new System.Text.StringBuilder();
        byte* buffer = stackalloc byte[4096];
        nint n;
        while ((n = read(fds[0], buffer, 4096)) > 0)
            text.Append(System.Text.Encoding.UTF8.GetString(buffer, (int)n));
        close(fds[0]);
        return text.ToString();
    }
}
