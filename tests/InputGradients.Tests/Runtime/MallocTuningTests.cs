using InputGradients.Runtime;

namespace InputGradients.Tests.Runtime;

/// <summary>When the library leaves glibc's malloc alone. What the settings do in a process: CleanProcessTests (heap-24mb).</summary>
public class MallocTuningTests
{
    static Func<string, string?> Env(params (string Name, string Value)[] set) =>
        name => set.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void With_nothing_set_the_library_tunes()
        => Assert.Null(MallocTuning.ReasonToLeave(Env(("GLIBC_TUNABLES", "glibc.pthread.rseq=0"), ("INPUTGRADIENTS_MALLOC", "yes"))));

    [Theory]
    [InlineData("INPUTGRADIENTS_MALLOC", "glibc", "glibc's defaults (INPUTGRADIENTS_MALLOC=glibc)")]
    [InlineData("INPUTGRADIENTS_MALLOC", "GLIBC", "glibc's defaults (INPUTGRADIENTS_MALLOC=glibc)")]
    [InlineData("GLIBC_TUNABLES", "glibc.pthread.rseq=0:glibc.malloc.hugetlb=1", "yours (GLIBC_TUNABLES)")]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "1048576", "yours (MALLOC_MMAP_THRESHOLD_)")]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "0", "yours (MALLOC_TRIM_THRESHOLD_)")]
    public void A_users_setting_is_left_in_force(string name, string value, string reason)
        => Assert.Equal(reason, MallocTuning.ReasonToLeave(Env((name, value))));

    [Fact]
    public void This_process_says_what_is_in_force()
    {
        var said = TorchRuntime.Info?.Allocator;
        Assert.NotNull(said);
        var reason = MallocTuning.ReasonToLeave(NativeEnvironment.Get);
        var expected = reason is not null ? $"malloc: {reason}" : "malloc: blocks up to 32 MB reused, not mapped afresh (the library's default)";
        Assert.Equal(expected, said);
        Assert.Equal(reason is null, MallocTuning.Tuned);
        Assert.Contains(said, InputGradients.Runtime.LibraryRuntime.Describe());
    }
}
