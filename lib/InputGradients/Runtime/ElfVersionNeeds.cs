using System.Buffers.Binary;
using System.Text;

namespace InputGradients.Runtime;

/// <summary>An ELF file is not what the reader expects: names the file and the problem.</summary>
public sealed class ElfFormatException(string message) : FormatException(message);

/// <summary>One version requirement (an Elf64_Vernaux entry of <c>.gnu.version_r</c>).</summary>
/// <param name="Library">The needed library (vn_file), e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Version">The version name (vna_name), e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Index">The version index (vna_other) that <c>.gnu.version</c> entries refer to.</param>
/// <param name="Flags">vna_flags; <see cref="ElfVersionNeeds.VerFlagWeak"/> makes a missing version non-fatal.</param>
/// <param name="FlagsOffset">File offset of vna_flags (2 bytes, little endian).</param>
public sealed record ElfVersionNeed(string Library, string Version, ushort Index, ushort Flags, long FlagsOffset)
{
    public bool IsWeak => (Flags & ElfVersionNeeds.VerFlagWeak) != 0;
}

/// <summary>
/// A small, validating reader/editor of the GNU symbol-versioning sections of little-endian ELF64 shared
/// libraries, written from the ELF gABI and the LSB "Symbol Versioning" chapter. It reads the version
/// requirements (<c>.gnu.version_r</c>), the symbols bound to each requirement (<c>.dynsym</c> +
/// <c>.gnu.version</c>) and the relocations against them, and can mark one requirement weak
/// (VER_FLG_WEAK), which makes glibc's loader accept a library whose needed version is absent.
/// Every offset is bounds-checked; anything unexpected throws <see cref="ElfFormatException"/>.
/// </summary>
public static class ElfVersionNeeds
{
    public const ushort VerFlagWeak = 0x2;

    const uint ShtRela = 4, ShtRel = 9, ShtDynsym = 11;
    const uint ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

    readonly record struct Section(int Index, uint Type, long Offset, long Size, uint Link, uint Info, long EntrySize);

    /// <summary>All version requirements of the file.</summary>
    public static IReadOnlyList<ElfVersionNeed> Read(ReadOnlySpan<byte> elf, string source)
    {
        var sections = ReadSections(elf, source);
        return ReadNeeds(elf, sections, source);
    }

    /// <summary>Names of the dynamic symbols bound to version index <paramref name="index"/>.</summary>
    public static IReadOnlyList<string> SymbolsNeeding(ReadOnlySpan<byte> elf, ushort index, string source)
        => SymbolsNeeding(elf, ReadSections(elf, source), index, source).Select(s => s.Name).ToList();

    /// <summary>
    /// Marks the requirement (<paramref name="library"/>, <paramref name="version"/>) weak in place, after checking
    /// that the only symbols bound to it are <paramref name="allowedSymbols"/> and that no relocation refers to
    /// them (so nothing in the library can ever resolve against the missing version).
    /// Returns false if the file has no such requirement or it is already weak (idempotent).
    /// </summary>
    public static bool MarkWeak(Span<byte> elf, string library, string version, IReadOnlyCollection<string> allowedSymbols, string source)
    {
        var sections = ReadSections(elf, source);
        var need = ReadNeeds(elf, sections, source).FirstOrDefault(n => n.Library == library && n.Version == version);
        if (need is null || need.IsWeak) return false;

        var symbols = SymbolsNeeding(elf, sections, need.Index, source);
        var unexpected = symbols.Where(s => !allowedSymbols.Contains(s.Name)).Select(s => s.Name).ToList();
        if (unexpected.Count > 0)
            throw new ElfFormatException(
                $"{source}: refusing to mark {version} of {library} weak: besides {string.Join(", ", allowedSymbols)} it is needed by " +
                $"{string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? $" and {unexpected.Count - 5} more" : "")}, " +
                "which the library really calls. Install a libstdc++ that provides it (GCC 13 or newer) instead.");
        var relocated = RelocatedSymbols(elf, sections, source);
        var used = symbols.Where(s => relocated.Contains(s.Index)).Select(s => s.Name).ToList();
        if (used.Count > 0)
            throw new ElfFormatException(
                $"{source}: refusing to mark {version} of {library} weak: relocations refer to {string.Join(", ", used)}. " +
                "Install a libstdc++ that provides it (GCC 13 or newer) instead.");

        BinaryPrimitives.WriteUInt16LittleEndian(elf.Slice((int)need.FlagsOffset, 2), (ushort)(need.Flags | VerFlagWeak));
        return true;
    }

    static List<Section> ReadSections(ReadOnlySpan<byte> elf, string source)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new ElfFormatException($"{source}: not an ELF file ({elf.Length} bytes, no \\x7fELF magic).");
        if (elf[4] != 2) throw new ElfFormatException($"{source}: not a 64-bit ELF file (EI_CLASS = {elf[4]}).");
        if (elf[5] != 1) throw new ElfFormatException($"{source}: not a little-endian ELF file (EI_DATA = {elf[5]}).");

        ulong shoff = U64(elf, 0x28, source);
        ushort shentsize = U16(elf, 0x3A, source), shnum = U16(elf, 0x3C, source);
        if (shentsize != 64) throw new ElfFormatException($"{source}: unexpected section header size {shentsize} (expected 64).");
        if (shnum == 0) throw new ElfFormatException($"{source}: no section headers (stripped of them?).");
        CheckRange(elf, (long)shoff, (long)shnum * 64, "section header table", source);

        var sections = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            int h = checked((int)shoff + i * 64);
            uint type = U32(elf, h + 4, source);
            long offset = (long)U64(elf, h + 0x18, source), size = (long)U64(elf, h + 0x20, source);
            const uint ShtNobits = 8;
            if (type != ShtNobits && type != 0) CheckRange(elf, offset, size, $"section {i}", source);
            sections.Add(new Section(i, type, offset, size, U32(elf, h + 0x28, source), U32(elf, h + 0x2C, source), (long)U64(elf, h + 0x38, source)));
        }
        return sections;
    }

    static List<ElfVersionNeed> ReadNeeds(ReadOnlySpan<byte> elf, List<Section> sections, string source)
    {
        var result = new List<ElfVersionNeed>();
        foreach (var verneed in sections.Where(s => s.Type == ShtGnuVerneed))
        {
            var strtab = Linked(sections, verneed, ".gnu.version_r", source);
            long end = verneed.Offset + verneed.Size;
            long at = verneed.Offset;
            // sh_info is the number of Verneed entries; bound every walk by it so a corrupt file cannot loop.
            for (uint n = 0; n < verneed.Info; n++)
            {
                CheckRange(elf, at, 16, "Verneed entry", source, end);
                ushort cnt = U16(elf, (int)at + 2, source);
                string file = Str(elf, strtab, U32(elf, (int)at + 4, source), source);
                long aux = at + U32(elf, (int)at + 8, source);
                for (int k = 0; k < cnt; k++)
                {
                    CheckRange(elf, aux, 16, "Vernaux entry", source, end);
                    ushort flags = U16(elf, (int)aux + 4, source), other = U16(elf, (int)aux + 6, source);
                    string name = Str(elf, strtab, U32(elf, (int)aux + 8, source), source);
                    result.Add(new ElfVersionNeed(file, name, other, flags, aux + 4));
                    uint nextAux = U32(elf, (int)aux + 12, source);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(elf, (int)at + 12, source);
                if (next == 0) break;
                at += next;
            }
        }
        return result;
    }

    static List<(int Index, string Name)> SymbolsNeeding(ReadOnlySpan<byte> elf, List<Section> sections, ushort index, string source)
    {
        var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
        if (versym.Type != ShtGnuVersym) throw new ElfFormatException($"{source}: has version requirements but no .gnu.version section.");
        var dynsym = Linked(sections, versym, ".gnu.version", source);
        if (dynsym.Type != ShtDynsym) throw new ElfFormatException($"{source}: .gnu.version is not linked to .dynsym.");
        var strtab = Linked(sections, dynsym, ".dynsym", source);
        long count = dynsym.Size / 24;
        if (versym.Size < count * 2) throw new ElfFormatException($"{source}: .gnu.version has fewer entries than .dynsym.");
        var result = new List<(int, string)>();
        for (int i = 0; i < count; i++)
        {
            ushort v = (ushort)(U16(elf, checked((int)(versym.Offset + 2 * i)), source) & 0x7fff);
            if (v != index) continue;
            uint nameOffset = U32(elf, checked((int)(dynsym.Offset + 24L * i)), source);
            result.Add((i, Str(elf, strtab, nameOffset, source)));
        }
        return result;
    }

    static HashSet<long> RelocatedSymbols(ReadOnlySpan<byte> elf, List<Section> sections, string source)
    {
        var dynsymIndex = sections.FirstOrDefault(s => s.Type == ShtDynsym).Index;
        var result = new HashSet<long>();
        foreach (var rel in sections.Where(s => (s.Type == ShtRela || s.Type == ShtRel) && s.Link == dynsymIndex))
        {
            long entry = rel.Type == ShtRela ? 24 : 16;
            for (long at = rel.Offset; at + entry <= rel.Offset + rel.Size; at += entry)
                result.Add((long)(U64(elf, checked((int)at + 8), source) >> 32));
        }
        return result;
    }

    static Section Linked(List<Section> sections, Section s, string what, string source)
    {
        if (s.Link == 0 || s.Link >= sections.Count) throw new ElfFormatException($"{source}: {what} links to section {s.Link}, which does not exist.");
        return sections[(int)s.Link];
    }

    static string Str(ReadOnlySpan<byte> elf, Section strtab, uint offset, string source)
    {
        if (offset >= strtab.Size) throw new ElfFormatException($"{source}: string offset {offset} outside its string table ({strtab.Size} bytes).");
        var rest = elf.Slice((int)(strtab.Offset + offset), (int)(strtab.Size - offset));
        int nul = rest.IndexOf((byte)0);
        if (nul < 0) throw new ElfFormatException($"{source}: unterminated string at offset {offset} of a string table.");
        return Encoding.UTF8.GetString(rest[..nul]);
    }

    static void CheckRange(ReadOnlySpan<byte> elf, long offset, long size, string what, string source, long limit = -1)
    {
        long end = limit < 0 ? elf.Length : Math.Min(limit, elf.Length);
        if (offset < 0 || size < 0 || offset > end - size)
            throw new ElfFormatException($"{source}: {what} at offset {offset} (+{size} bytes) lies outside the file ({elf.Length} bytes): truncated or corrupt.");
    }

    static ushort U16(ReadOnlySpan<byte> b, int at, string source) { CheckRange(b, at, 2, "field", source); return BinaryPrimitives.ReadUInt16LittleEndian(b[at..]); }
    static uint U32(ReadOnlySpan<byte> b, int at, string source) { CheckRange(b, at, 4, "field", source); return BinaryPrimitives.ReadUInt32LittleEndian(b[at..]); }
    static ulong U64(ReadOnlySpan<byte> b, int at, string source) { CheckRange(b, at, 8, "field", source); return BinaryPrimitives.ReadUInt64LittleEndian(b[at..]); }
}
