using System.Runtime.InteropServices;

namespace InputGradients.Runtime;

/// <summary>
/// glibc malloc settings for a process that allocates and frees tensors of megabytes many times a second.
/// </summary>
/// <remarks>
/// libtorch's CPU allocator keeps no cache: every tensor is a <c>posix_memalign</c> and a <c>free</c>. glibc serves
/// blocks above its mmap threshold (128 KB at start, raised only as such blocks are freed) with a fresh <c>mmap</c>
/// and unmaps them on <c>free</c>, so the kernel faults in and zero-fills new pages for every activation and gradient
/// of every pass. With the threshold at its largest (32 MB) and freed memory kept up to 256 MB before it is returned,
/// those blocks are reused instead. Measured on a 2-core VM (ResNet-18 backbone, forward + backward to the input at
/// batch 5, 224 px, median of 5): 190-264 ms and 600-720 thousand page faults per run with glibc's defaults, 132-154 ms
/// and 260 thousand with these; peak resident memory unchanged (1.1 GB). The bench gives its PyTorch side the same
/// settings, and run with <c>INPUTGRADIENTS_MALLOC=glibc</c> it measures both sides with glibc's (bench/README.md).
/// A user's own malloc settings win: <c>GLIBC_TUNABLES</c> naming <c>glibc.malloc.*</c>, the <c>MALLOC_*_</c>
/// variables, or <c>INPUTGRADIENTS_MALLOC=glibc</c> to keep glibc's defaults.
/// </remarks>
public static class MallocTuning
{
    /// <summary>Blocks up to this size come from the heap (glibc's largest allowed threshold on 64-bit).</summary>
    public const int MmapThreshold = 32 << 20;

    /// <summary>Free memory at the top of the heap is returned to the system only beyond this.</summary>
    public const int TrimThreshold = 256 << 20;

    /// <summary>The variable that turns the tuning off (value <c>glibc</c>).</summary>
    public const string OptOutVariable = "INPUTGRADIENTS_MALLOC";

    // mallopt parameters (malloc.h of glibc).
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    static readonly object Gate = new();
    static string? applied;
    static bool tuned;

    /// <summary>Whether the library's settings are in force in this process (applying them first if need be).</summary>
    public static bool Tuned { get { Apply(); return tuned; } }

    /// <summary>What to do, given the process environment <paramref name="getenv"/>: null to tune, else why not.</summary>
    public static string? ReasonToLeave(Func<string, string?> getenv)
    {
        if (string.Equals(getenv(OptOutVariable), "glibc", StringComparison.OrdinalIgnoreCase))
            return $"glibc's defaults ({OptOutVariable}=glibc)";
        if (getenv("GLIBC_TUNABLES") is { } tunables && tunables.Contains("glibc.malloc.", StringComparison.Ordinal))
            return "yours (GLIBC_TUNABLES)";
        foreach (var name in new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_" })
            if (getenv(name) is not null) return $"yours ({name})";
        return null;
    }

    /// <summary>
    /// Applies the settings once per process (Linux with glibc only) and says what is in force: "malloc: ...".
    /// Called by <see cref="TorchRuntime.EnsureLoaded"/> before libtorch loads; safe to call again.
    /// </summary>
    public static string Apply()
    {
        lock (Gate) return applied ??= Decide();
    }

    static string Decide()
    {
        if (!OperatingSystem.IsLinux()) return "malloc: the system's";
        if (ReasonToLeave(NativeEnvironment.Get) is { } reason) return $"malloc: {reason}";
        // musl and other libcs have no mallopt, or one that does nothing: leave them be.
        if (!NativeLibrary.TryLoad("libc.so.6", out var libc) || !NativeLibrary.TryGetExport(libc, "mallopt", out var export))
            return "malloc: the system's (not glibc)";
        unsafe
        {
            var mallopt = (delegate* unmanaged<int, int, int>)export;
            // mallopt returns 1 on success; the thresholds are fixed from here on (no dynamic adjustment).
            if (mallopt(M_MMAP_THRESHOLD, MmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, TrimThreshold) != 1)
                return "malloc: glibc's defaults (mallopt refused)";
        }
        tuned = true;
        return $"malloc: blocks up to {MmapThreshold >> 20} MB reused, not mapped afresh (the library's default)";
    }
}
