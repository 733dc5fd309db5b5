using System.Runtime.InteropServices;

namespace ToolSupport;

/// <summary>
/// Which file or folder a path really names: through symbolic links (<see cref="RealPath"/>) and hard links
/// (<see cref="SameFile"/> compares device and inode). The tools use it so that no command writes over, or deletes,
/// a file it was given to read. Compiled into each tool (linked source), so the tools stay independent.
/// </summary>
public static class PathIdentity
{
    /// <summary>Device and inode: two paths name the same file exactly when these are equal.</summary>
    public readonly record struct FileId(ulong Device, ulong Inode);

    /// <summary>The file's identity, following symbolic links; null if nothing exists there.</summary>
    public static FileId? Of(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) return null;
        if (!OperatingSystem.IsLinux()) return null;
        // st_dev and st_ino are the first two 64-bit fields of struct stat on 64-bit Linux (x86-64 and arm64); the
        // buffer is larger than the whole struct on both.
        var buffer = new ulong[32];
        if (stat(Path.GetFullPath(path), buffer) != 0) return null;
        return new FileId(buffer[0], buffer[1]);
    }

    /// <summary>True when both paths exist and name the same file (the same path, a symbolic link or a hard link).</summary>
    public static bool SameFile(string a, string b)
    {
        if (OperatingSystem.IsLinux()) return Of(a) is { } x && Of(b) is { } y && x == y;
        return string.Equals(RealPath(a), RealPath(b), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The absolute path with every symbolic link resolved. A path that does not exist yet (an output to be written)
    /// is resolved as far as it exists, and the rest appended.
    /// </summary>
    public static string RealPath(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (!OperatingSystem.IsLinux()) return full;
        var rest = new Stack<string>();
        var existing = full;
        while (!File.Exists(existing) && !Directory.Exists(existing))
        {
            var parent = Path.GetDirectoryName(existing);
            if (parent is null) return full;
            rest.Push(Path.GetFileName(existing));
            existing = parent;
        }
        var resolved = realpath(existing, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return full;
        try
        {
            var real = Marshal.PtrToStringUTF8(resolved)!;
            while (rest.Count > 0) real = Path.Combine(real, rest.Pop());
            return real;
        }
        finally { free(resolved); }
    }

    /// <summary>
    /// True when <paramref name="path"/> is <paramref name="folder"/> or lies anywhere below it, links resolved (folders
    /// are compared by identity, so a second mount or link to the same folder counts too).
    /// </summary>
    public static bool IsSameOrInside(string path, string folder)
    {
        if (Of(folder) is not { } target) return false;
        for (var dir = RealPath(path); dir is not null; dir = Path.GetDirectoryName(dir))
            if (Of(dir) == target) return true;
        return false;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int stat(string path, [Out] ulong[] buffer);

    [DllImport("libc", SetLastError = true)]
    static extern IntPtr realpath(string path, IntPtr resolved);

    [DllImport("libc")]
    static extern void free(IntPtr pointer);
}
