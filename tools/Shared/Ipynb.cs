using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InputGradients.Shared;

/// <summary>
/// The one reader and writer of Jupyter notebooks (.ipynb, nbformat 4) for every tool: nbrun, submission and the
/// library's word count. A notebook is kept as its JSON tree, so whatever a tool does not know (metadata, ids,
/// outputs) survives a round trip. <see cref="Parse"/> checks the size and the structure every accessor relies on,
/// so a hostile file gives one clean line starting with its name (<see cref="InvalidDataException"/>) and the
/// accessors cannot throw on it afterwards. Compiled into each project from <c>tools/Shared/</c>.
/// </summary>
internal static class Ipynb
{
    /// <summary>Executed notebooks embed images; 256 MiB is far above any of ours and bounds what is read.</summary>
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>nbformat itself nests about 6 deep; outputs with JSON data a little more.</summary>
    public const int MaxDepth = 64;

    /// <summary>The nbformat minor version from which every cell has an id.</summary>
    public const int IdsSinceMinor = 5;

    static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        IndentSize = 1,
        // Readable diffs: quotes, '<' and non-ASCII text stay as they are (the file is not embedded in HTML).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static JsonObject Load(string path, long maxBytes = DefaultMaxBytes)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: notebook not found", path);
        if (info.Length > maxBytes)
            throw new InvalidDataException($"{path}: {info.Length} bytes, more than the {maxBytes} allowed for a notebook");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses and checks a notebook; <paramref name="name"/> starts every error message.</summary>
    public static JsonObject Parse(byte[] utf8, string name)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name}: not valid JSON ({Clean(e.Message)})", e);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{name}: not valid JSON ({Clean(e.Message)})", e);
        }
        // Strings are decoded lazily; decoding each one here makes a bad byte or escape a refusal now, not a crash later.
        try { DecodeAll(node); }
        catch (InvalidOperationException) { throw new InvalidDataException($"{name}: a string is not valid UTF-8 or has a broken escape"); }
        catch (ArgumentException) { throw new InvalidDataException($"{name}: an object has the same key twice"); }
        if (node is not JsonObject nb || nb["cells"] is not JsonArray cells)
            throw new InvalidDataException($"{name}: not a notebook (no \"cells\" array)");
        for (int i = 0; i < cells.Count; i++)
        {
            string Where() => $"{name}: cell {i + 1}";
            if (cells[i] is not JsonObject cell) throw new InvalidDataException($"{Where()} is not an object");
            if (!IsString(cell["cell_type"])) throw new InvalidDataException($"{Where()} has no \"cell_type\" string");
            if (cell["id"] is { } id && !IsString(id)) throw new InvalidDataException($"{Where()}: \"id\" is not a string");
            if (!IsText(cell["source"])) throw new InvalidDataException($"{Where()}: \"source\" is neither a string nor a list of strings");
            if (cell["execution_count"] is { } n && !(n is JsonValue v && v.TryGetValue(out int _)))
                throw new InvalidDataException($"{Where()}: \"execution_count\" is not a whole number");
            if (cell["outputs"] is null) continue;
            if (cell["outputs"] is not JsonArray outputs) throw new InvalidDataException($"{Where()}: \"outputs\" is not a list");
            foreach (var o in outputs)
                if (o is not JsonObject output || !IsString(output["output_type"]))
                    throw new InvalidDataException($"{Where()}: an output is not an object with an \"output_type\" string");
        }
        return nb;
    }

    public static string Serialize(JsonObject nb) => nb.ToJsonString(Indented) + "\n";

    public static JsonArray Cells(JsonObject nb) => (JsonArray)nb["cells"]!;

    public static string CellType(JsonNode cell) => Text(cell["cell_type"]);

    public static string? Id(JsonNode cell) => cell["id"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>A cell's source as one string (nbformat allows a string or a list of lines).</summary>
    public static string Source(JsonNode cell) => Text(cell["source"]);

    public static int? ExecutionCount(JsonNode cell) =>
        cell["execution_count"] is JsonValue v && v.TryGetValue(out int n) ? n : null;

    public static IEnumerable<JsonObject> Outputs(JsonNode cell) =>
        cell["outputs"] is JsonArray outputs ? outputs.OfType<JsonObject>() : [];

    /// <summary>Text stored as a string or a list of strings; anything else as its JSON.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonArray lines => string.Concat(lines.Select(l => l is JsonValue v && v.TryGetValue(out string? s) ? s : l?.ToJsonString())),
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(),
    };

    /// <summary>nbformat 4.5: 1 to 64 letters, digits, '-' or '_'.</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: >= 1 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>
    /// Gives every cell without a valid, unique id one (ids already there are kept) and raises nbformat_minor to 5.
    /// A new id is derived from <paramref name="seed"/>, the cell's position and its source, so running this twice on
    /// the same notebook writes the same ids. Returns how many ids were added or replaced.
    /// </summary>
    public static int AddMissingIds(JsonObject nb, string seed)
    {
        var cells = Cells(nb);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        int added = 0;
        for (int i = 0; i < cells.Count; i++)
        {
            var cell = (JsonObject)cells[i]!;
            var id = Id(cell);
            if (IsValidId(id) && taken.Add(id!)) continue;
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}\n{i}\n{Source(cell)}")));
            int length = 8;
            while (!taken.Add(id = hash[..length])) length++;
            // nbformat orders "id" after "cell_type"; editors do not mind, but diffs are smaller this way.
            Insert(cell, "id", id, after: "cell_type");
            added++;
        }
        if (nb["nbformat_minor"] is not JsonValue m || !m.TryGetValue(out int minor) || minor < IdsSinceMinor)
            nb["nbformat_minor"] = IdsSinceMinor;
        return added;
    }

    static void Insert(JsonObject obj, string key, string value, string after)
    {
        obj.Remove(key);
        int at = 0;
        foreach (var (k, _) in obj) { at++; if (k == after) break; }
        obj.Insert(at, key, value);
    }

    /// <summary>Visits every property name and string once, without recursion.</summary>
    static void DecodeAll(JsonNode? root)
    {
        var pending = new Stack<JsonNode?>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            switch (pending.Pop())
            {
                case JsonObject o: foreach (var (_, v) in o) pending.Push(v); break;
                case JsonArray a: foreach (var v in a) pending.Push(v); break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String: v.GetValue<string>(); break;
            }
        }
    }

    static bool IsString(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? _);

    static bool IsText(JsonNode? node) => node is null || IsString(node) || node is JsonArray a && a.All(IsString);

    /// <summary>One line, printable, bounded: text from the file may carry anything.</summary>
    static string Clean(string text)
    {
        var s = new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        return s.Length > 200 ? s[..197] + "..." : s;
    }
}
