using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using InputGradients.Core;

namespace InputGradients.Serialization;

/// <summary>A Python global named in a pickle (<c>module.name</c>). It is only a name: we never import or run it.</summary>
public sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A pickled dict (or OrderedDict), in insertion order, with any attributes set on it by BUILD.</summary>
public sealed class PickleDict
{
    public OrderedDictionary<object, object?> Items { get; } = new();
    public Dictionary<string, object?> Attributes { get; } = new();
}

/// <summary>
/// A pickle reader written from the format's published description (Python's pickletools documentation) that
/// understands only the opcodes of protocols 2 to 4 needed for data (numbers, strings, tuples, lists, dicts) and
/// never resolves or calls anything named in the file. A GLOBAL is checked against an allow-list the moment it is
/// read; REDUCE on an allowed global is handed to a caller-supplied C# function that builds a data record. Opcodes
/// that create arbitrary objects (INST, OBJ, NEWOBJ, ...) are refused.
/// </summary>
public sealed class RestrictedUnpickler
{
    private readonly ReadOnlyMemory<byte> data;
    private readonly string? path;
    private readonly IReadOnlySet<string> allowedGlobals;
    private readonly Func<PickleGlobal, object?[], object?> reduce;
    private readonly Func<object?, object?>? persistentLoad;
    private int pos;

    /// <param name="allowedGlobals">Globals, as "module.name", the file may mention.</param>
    /// <param name="reduce">Builds the value of calling an allowed global with the given arguments (our code, not the file's).</param>
    /// <param name="persistentLoad">Resolves a persistent id (BINPERSID); null refuses them.</param>
    public RestrictedUnpickler(ReadOnlyMemory<byte> data, string? path, IReadOnlySet<string> allowedGlobals,
        Func<PickleGlobal, object?[], object?> reduce, Func<object?, object?>? persistentLoad, int start = 0)
    {
        this.data = data;
        this.path = path;
        this.allowedGlobals = allowedGlobals;
        this.reduce = reduce;
        this.persistentLoad = persistentLoad;
        pos = start;
    }

    /// <summary>Offset just after the last STOP read (where a following pickle would start).</summary>
    public int Position => pos;

    private CheckpointFormatException Error(string message, int at) =>
        new(path, $"{message} (pickle offset {at}). Nothing from the file was executed.");

    private ReadOnlySpan<byte> Take(int n, int opAt)
    {
        if (n < 0 || pos + n > data.Length || pos + n < pos)
            throw Error($"the pickle ends in the middle of an opcode (needs {n} more bytes, has {data.Length - pos}); the file is truncated or damaged", opAt);
        var s = data.Span.Slice(pos, n);
        pos += n;
        return s;
    }

    private string ReadLine(int opAt)
    {
        var rest = data.Span[pos..];
        int nl = rest.IndexOf((byte)'\n');
        if (nl < 0 || nl > 256) throw Error("a GLOBAL opcode has no end of line", opAt);
        var s = Encoding.ASCII.GetString(rest[..nl]);
        pos += nl + 1;
        return s;
    }

    /// <summary>Reads one pickle, up to and including its STOP opcode, and returns its value.</summary>
    public object? Load()
    {
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new Dictionary<long, object?>();

        object? Pop(int at)
        {
            if (stack.Count == 0 || (marks.Count > 0 && stack.Count <= marks.Peek())) throw Error("stack underflow", at);
            var v = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return v;
        }
        object? Top(int at)
        {
            if (stack.Count == 0) throw Error("stack underflow", at);
            return stack[^1];
        }
        List<object?> PopMark(int at)
        {
            if (marks.Count == 0) throw Error("no MARK on the stack", at);
            int m = marks.Pop();
            var items = stack.GetRange(m, stack.Count - m);
            stack.RemoveRange(m, stack.Count - m);
            return items;
        }
        void SetItem(object? target, object? key, object? value, int at)
        {
            if (target is not PickleDict d) throw Error($"SETITEM(S) on a {Describe(target)}, not a dict", at);
            if (key is null || key is object?[] || key is List<object?> || key is PickleDict) throw Error($"unsupported dict key {Describe(key)}", at);
            d.Items[key] = value;
        }
        void Memoize(long index, int at)
        {
            if (memo.Count > 10_000_000) throw Error("too many memo entries", at);
            memo[index] = Top(at);
        }
        object? Get(long index, int at) =>
            memo.TryGetValue(index, out var v) ? v : throw Error($"memo index {index} was never stored", at);

        while (true)
        {
            int at = pos;
            if (pos >= data.Length) throw Error("the pickle ends without a STOP opcode; the file is truncated or damaged", at);
            byte op = data.Span[pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    {
                        int proto = Take(1, at)[0];
                        if (proto > 5) throw Error($"pickle protocol {proto} is not supported", at);
                        break;
                    }
                case 0x95: Take(8, at); break; // FRAME: a length hint only
                case (byte)'.': // STOP
                    if (stack.Count != 1 || marks.Count != 0) throw Error($"STOP with {stack.Count} values on the stack", at);
                    return stack[0];
                case (byte)'(': marks.Push(stack.Count); break; // MARK
                case (byte)'0': Pop(at); break; // POP
                case (byte)'1': PopMark(at); break; // POP_MARK
                case (byte)'2': stack.Add(Top(at)); break; // DUP
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break; // NEWTRUE
                case 0x89: stack.Add(false); break; // NEWFALSE
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4, at))); break; // BININT
                case (byte)'K': stack.Add((long)Take(1, at)[0]); break; // BININT1
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2, at))); break; // BININT2
                case 0x8a: // LONG1
                    {
                        int n = Take(1, at)[0];
                        stack.Add(Long(Take(n, at)));
                        break;
                    }
                case 0x8b: // LONG4
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4, at));
                        if (n < 0 || n > 1024) throw Error($"LONG4 of {n} bytes refused", at);
                        stack.Add(Long(Take(n, at)));
                        break;
                    }
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8, at))); break; // BINFLOAT
                case (byte)'X': // BINUNICODE
                    {
                        uint n = BinaryPrimitives.ReadUInt32LittleEndian(Take(4, at));
                        stack.Add(Utf8(Take(checked((int)Math.Min(n, int.MaxValue)), at), at));
                        break;
                    }
                case 0x8c: stack.Add(Utf8(Take(Take(1, at)[0], at), at)); break; // SHORT_BINUNICODE
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(Take(1, at)[0], at))); break; // SHORT_BINSTRING
                case (byte)'T': // BINSTRING
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4, at));
                        stack.Add(Encoding.Latin1.GetString(Take(n, at)));
                        break;
                    }
                case (byte)'C': stack.Add(Take(Take(1, at)[0], at).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': // BINBYTES
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4, at));
                        stack.Add(Take(n, at).ToArray());
                        break;
                    }
                case (byte)')': stack.Add(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'t': stack.Add(PopMark(at).ToArray()); break; // TUPLE
                case 0x85: { var a = Pop(at); stack.Add(new[] { a }); break; } // TUPLE1
                case 0x86: { var b = Pop(at); var a = Pop(at); stack.Add(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(at); var b = Pop(at); var a = Pop(at); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                case (byte)']': stack.Add(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': stack.Add(PopMark(at)); break; // LIST
                case (byte)'a': // APPEND
                    {
                        var v = Pop(at);
                        if (Top(at) is not List<object?> list) throw Error($"APPEND to a {Describe(Top(at))}", at);
                        list.Add(v);
                        break;
                    }
                case (byte)'e': // APPENDS
                    {
                        var items = PopMark(at);
                        if (Top(at) is not List<object?> list) throw Error($"APPENDS to a {Describe(Top(at))}", at);
                        list.AddRange(items);
                        break;
                    }
                case (byte)'}': stack.Add(new PickleDict()); break; // EMPTY_DICT
                case (byte)'d': // DICT
                    {
                        var items = PopMark(at);
                        if (items.Count % 2 != 0) throw Error("DICT with an odd number of items", at);
                        var d = new PickleDict();
                        for (int i = 0; i < items.Count; i += 2) SetItem(d, items[i], items[i + 1], at);
                        stack.Add(d);
                        break;
                    }
                case (byte)'s': // SETITEM
                    {
                        var v = Pop(at);
                        var k = Pop(at);
                        SetItem(Top(at), k, v, at);
                        break;
                    }
                case (byte)'u': // SETITEMS
                    {
                        var items = PopMark(at);
                        if (items.Count % 2 != 0) throw Error("SETITEMS with an odd number of items", at);
                        var target = Top(at);
                        for (int i = 0; i < items.Count; i += 2) SetItem(target, items[i], items[i + 1], at);
                        break;
                    }
                case (byte)'q': Memoize(Take(1, at)[0], at); break; // BINPUT
                case (byte)'r': Memoize(BinaryPrimitives.ReadUInt32LittleEndian(Take(4, at)), at); break; // LONG_BINPUT
                case 0x94: Memoize(memo.Count, at); break; // MEMOIZE
                case (byte)'h': stack.Add(Get(Take(1, at)[0], at)); break; // BINGET
                case (byte)'j': stack.Add(Get(BinaryPrimitives.ReadUInt32LittleEndian(Take(4, at)), at)); break; // LONG_BINGET
                case (byte)'c': // GLOBAL
                    {
                        var module = ReadLine(at);
                        var name = ReadLine(at);
                        stack.Add(Global(module, name, at));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop(at);
                        var module = Pop(at);
                        if (module is not string m || name is not string n) throw Error("STACK_GLOBAL needs two strings", at);
                        stack.Add(Global(m, n, at));
                        break;
                    }
                case (byte)'R': // REDUCE
                    {
                        var args = Pop(at);
                        var callable = Pop(at);
                        if (callable is not PickleGlobal g) throw Error($"REDUCE on a {Describe(callable)}, which is not an allowed global", at);
                        if (args is not object?[] tuple) throw Error($"REDUCE of {g} with {Describe(args)} arguments instead of a tuple", at);
                        object? result;
                        try { result = reduce(g, tuple); }
                        catch (CheckpointFormatException) { throw; }
                        catch (Exception e) { throw Error($"cannot rebuild {g}: {e.Message}", at); }
                        stack.Add(result);
                        break;
                    }
                case (byte)'b': // BUILD
                    {
                        var state = Pop(at);
                        var target = Top(at);
                        if (target is PickleDict d && state is PickleDict attrs)
                        {
                            // e.g. an OrderedDict's __dict__ (a state dict's _metadata): kept as data.
                            foreach (var (k, v) in attrs.Items) d.Attributes[k.ToString()!] = v;
                        }
                        else if (state is null) { }
                        else throw Error($"BUILD of a {Describe(target)} with a {Describe(state)} is not supported", at);
                        break;
                    }
                case (byte)'Q': // BINPERSID
                    {
                        var pid = Pop(at);
                        if (persistentLoad is null) throw Error("persistent ids are not allowed here", at);
                        stack.Add(persistentLoad(pid));
                        break;
                    }
                case (byte)'i': throw Error("opcode INST (create an object of a named class) is refused", at);
                case (byte)'o': throw Error("opcode OBJ (create an object) is refused", at);
                case 0x81: throw Error("opcode NEWOBJ (create an object) is refused", at);
                case 0x92: throw Error("opcode NEWOBJ_EX (create an object) is refused", at);
                case (byte)'P': throw Error("opcode PERSID (text persistent id) is not supported", at);
                default:
                    throw Error($"unsupported pickle opcode 0x{op:x2} ('{(op >= 32 && op < 127 ? (char)op : '?')}'); this reader knows only the opcodes checkpoints need, or the file is damaged", at);
            }
        }
    }

    private PickleGlobal Global(string module, string name, int at)
    {
        var g = new PickleGlobal(module, name);
        if (!allowedGlobals.Contains(g.ToString()))
            throw Error($"refused to load the Python global '{InvalidFileException.Sanitize(g.ToString())}': it is not on the allow-list ({string.Join(", ", allowedGlobals.Order())}). "
                      + "A checkpoint that names it may try to run code when loaded by pickle", at);
        return g;
    }

    private static object Long(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return 0L;
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        // (object) so that the conditional does not convert the long back to a BigInteger.
        return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big;
    }

    private string Utf8(ReadOnlySpan<byte> bytes, int at)
    {
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw Error("a string is not valid UTF-8", at); }
    }

    internal static string Describe(object? v) => v switch
    {
        null => "None",
        string => "string",
        long or BigInteger => "int",
        double => "float",
        bool => "bool",
        object?[] => "tuple",
        List<object?> => "list",
        PickleDict => "dict",
        PickleGlobal g => $"global {g}",
        _ => v.GetType().Name,
    };
}
