using InputGradients.Runtime;

namespace InputGradients.Tests.Runtime;

/// <summary>
/// The ELF editor on TorchSharp's real libLibTorchSharp.so (the untouched original: `.orig` beside a dev-patched copy
/// when present). Expected values come from the file as binutils' readelf describes it (GLIBCXX_3.4.32 needed from
/// libstdc++.so.6 by the one symbol _ZSt21ios_base_library_initv), not from the code under test.
/// </summary>
public class ElfVersionNeedsTests
{
    static string OriginalLibTorchSharp()
    {
        var info = TorchRuntime.Info ?? throw new InvalidOperationException("TorchRuntime did not run");
        var orig = info.OriginalLibTorchSharpPath + ".orig";
        return File.Exists(orig) ? orig : info.OriginalLibTorchSharpPath;
    }

    static byte[] Original()
    {
        var bytes = File.ReadAllBytes(OriginalLibTorchSharp());
        // Only meaningful on a file that still has the strong requirement.
        Assert.Contains(ElfVersionNeeds.Read(bytes, "orig"), n => n.Version == "GLIBCXX_3.4.32" && !n.IsWeak);
        return bytes;
    }

    [Fact]
    public void Reads_the_version_requirements_readelf_shows()
    {
        var needs = ElfVersionNeeds.Read(Original(), "orig");
        var need = Assert.Single(needs, n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", need.Library);
        Assert.Contains(needs, n => n.Library == "libc.so.6" && n.Version.StartsWith("GLIBC_2."));
        Assert.Equal(["_ZSt21ios_base_library_initv"], ElfVersionNeeds.SymbolsNeeding(Original(), need.Index, "orig"));
    }

    [Fact]
    public void Marking_weak_sets_only_the_flag_and_is_idempotent()
    {
        var original = Original();
        var bytes = (byte[])original.Clone();
        Assert.True(ElfVersionNeeds.MarkWeak(bytes, "libstdc++.so.6", "GLIBCXX_3.4.32", ["_ZSt21ios_base_library_initv"], "copy"));
        var need = ElfVersionNeeds.Read(bytes, "copy").Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.True(need.IsWeak);
        Assert.Equal(ElfVersionNeeds.VerFlagWeak, need.Flags & ElfVersionNeeds.VerFlagWeak);

        var differing = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != original[i]).ToList();
        Assert.Equal([(int)need.FlagsOffset], differing); // one byte: the low byte of vna_flags
        // Every other requirement is untouched.
        Assert.Equal(ElfVersionNeeds.Read(original, "o").Where(n => n.Version != "GLIBCXX_3.4.32"),
                     ElfVersionNeeds.Read(bytes, "c").Where(n => n.Version != "GLIBCXX_3.4.32"));

        var again = (byte[])bytes.Clone();
        Assert.False(ElfVersionNeeds.MarkWeak(again, "libstdc++.so.6", "GLIBCXX_3.4.32", ["_ZSt21ios_base_library_initv"], "copy"));
        Assert.Equal(bytes, again);
    }

    [Fact]
    public void Refuses_when_other_symbols_need_the_version()
    {
        var bytes = Original();
        var e = Assert.Throws<ElfFormatException>(() =>
            ElfVersionNeeds.MarkWeak(bytes, "libstdc++.so.6", "GLIBCXX_3.4.32", ["some_other_symbol"], "lib.so"));
        Assert.Contains("_ZSt21ios_base_library_initv", e.Message);
        Assert.Contains("lib.so", e.Message);
        Assert.Equal(Original(), bytes); // nothing written on refusal
    }

    [Fact]
    public void Rejects_a_non_elf_file_with_a_clear_error()
    {
        var e = Assert.Throws<ElfFormatException>(() => ElfVersionNeeds.Read("#!/bin/sh\necho not a library\n"u8.ToArray(), "script.sh"));
        Assert.Contains("script.sh", e.Message);
        Assert.Contains("not an ELF file", e.Message);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(1_000_000)]
    public void Rejects_a_truncated_file_with_a_clear_error(int length)
    {
        var bytes = Original()[..length];
        var e = Assert.Throws<ElfFormatException>(() =>
            ElfVersionNeeds.MarkWeak(bytes, "libstdc++.so.6", "GLIBCXX_3.4.32", ["_ZSt21ios_base_library_initv"], "cut.so"));
        Assert.Contains("cut.so", e.Message);
        Assert.Contains("truncated or corrupt", e.Message);
    }

    [Fact]
    public void The_patched_cache_copy_is_written_atomically_once_and_reused()
    {
        var cache = Directory.CreateTempSubdirectory("ig-cache-");
        var old = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        try
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", cache.FullName);
            var original = Original();
            var path = TorchRuntime.WritePatchedCopy(original, "orig", "0.107.0");
            Assert.StartsWith(Path.Combine(cache.FullName, "input-gradients", "native", "0.107.0-"), path);
            var written = File.GetLastWriteTimeUtc(path);
            Assert.True(ElfVersionNeeds.Read(File.ReadAllBytes(path), path).Single(n => n.Version == "GLIBCXX_3.4.32").IsWeak);
            Thread.Sleep(20);
            Assert.Equal(path, TorchRuntime.WritePatchedCopy(original, "orig", "0.107.0"));
            Assert.Equal(written, File.GetLastWriteTimeUtc(path)); // reused, not rewritten
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temp files left
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", old);
            cache.Delete(recursive: true);
        }
    }
}
