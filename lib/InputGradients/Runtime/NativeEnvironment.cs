using System.Runtime.InteropServices;

namespace InputGradients.Runtime;

/// <summary>
/// The environment that native libraries read with <c>getenv</c>. On Linux, .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> changes only the runtime's own copy, so variables
/// that libtorch, OpenMP or oneDNN read must be set through libc, and before those libraries load.
/// </summary>
public static class NativeEnvironment
{
    [DllImport("libc", EntryPoint = "getenv")] static extern IntPtr getenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport("libc", EntryPoint = "setenv", SetLastError = true)]
    static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>The native value of <paramref name="name"/>, or null (also off Linux and macOS, where nothing here applies).</summary>
    public static string? Get(string name) =>
        OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? Marshal.PtrToStringUTF8(getenv(name)) : null;

    /// <summary>Sets <paramref name="name"/> in the native environment unless the user set it; returns the value in force.</summary>
    public static string? SetDefault(string name, string value)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return Environment.GetEnvironmentVariable(name);
        if (Get(name) is { } existing) return existing;
        setenv(name, value, 0);
        Environment.SetEnvironmentVariable(name, value); // child processes started by .NET inherit this copy
        return Get(name);
    }
}
