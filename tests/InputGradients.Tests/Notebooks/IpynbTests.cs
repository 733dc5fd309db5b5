using System.Text;
using System.Text.Json.Nodes;
using InputGradients.Shared;

namespace InputGradients.Tests.Notebooks;

/// <summary>The one .ipynb reader (tools/Shared/Ipynb.cs) that nbrun, submission and the word count share.</summary>
public class IpynbTests
{
    static JsonObject Parse(string json) => Ipynb.Parse(Encoding.UTF8.GetBytes(json), "nb.ipynb");

    const string ThreeCells = """
        {"cells": [
          {"cell_type": "markdown", "metadata": {}, "source": ["# T\n", "text"]},
          {"cell_type": "code", "id": "keep-me", "metadata": {}, "execution_count": 3, "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}], "source": "1+1"},
          {"cell_type": "code", "metadata": {}, "outputs": [], "source": []}
        ], "metadata": {"kernelspec": {"name": ".net-csharp"}}, "nbformat": 4, "nbformat_minor": 4}
        """;

    [Fact]
    public void Reads_sources_as_strings_or_lines_and_the_other_fields()
    {
        var cells = Ipynb.Cells(Parse(ThreeCells));
        Assert.Equal(["markdown", "code", "code"], cells.Select(c => Ipynb.CellType(c!)));
        Assert.Equal(["# T\ntext", "1+1", ""], cells.Select(c => Ipynb.Source(c!)));
        Assert.Equal([null, "keep-me", null], cells.Select(c => Ipynb.Id(c!)));
        Assert.Equal([null, 3, null], cells.Select(c => Ipynb.ExecutionCount(c!)));
        Assert.Equal(["stream"], Ipynb.Outputs(cells[1]!).Select(o => Ipynb.Text(o["output_type"])));
    }

    [Fact]
    public void Adds_missing_ids_keeps_existing_ones_and_raises_the_minor_version()
    {
        var nb = Parse(ThreeCells);
        Assert.Equal(2, Ipynb.AddMissingIds(nb, "nb.ipynb"));
        var ids = Ipynb.Cells(nb).Select(c => Ipynb.Id(c!)).ToList();
        Assert.Equal("keep-me", ids[1]);
        Assert.All(ids, id => Assert.True(Ipynb.IsValidId(id), id));
        Assert.Equal(3, ids.Distinct().Count());
        Assert.Equal(5, (int?)nb["nbformat_minor"]);
        // Written right after cell_type, as nbformat does.
        Assert.Equal(["cell_type", "id", "metadata", "source"], ((JsonObject)Ipynb.Cells(nb)[0]!).Select(p => p.Key));
        // The same notebook gets the same ids again; a notebook with all its ids is left alone.
        var again = Parse(ThreeCells);
        Ipynb.AddMissingIds(again, "nb.ipynb");
        Assert.Equal(ids, Ipynb.Cells(again).Select(c => Ipynb.Id(c!)));
        Assert.Equal(0, Ipynb.AddMissingIds(again, "nb.ipynb"));
        // A round trip through the writer keeps them.
        Assert.Equal(ids, Ipynb.Cells(Parse(Ipynb.Serialize(nb))).Select(c => Ipynb.Id(c!)));
    }

    [Fact]
    public void Replaces_duplicate_and_invalid_ids()
    {
        var nb = Parse("""
            {"cells": [{"cell_type": "code", "id": "a", "source": "1"}, {"cell_type": "code", "id": "a", "source": "2"},
                       {"cell_type": "code", "id": "has space", "source": "3"}, {"cell_type": "code", "id": "", "source": "4"}],
             "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """);
        Assert.Equal(3, Ipynb.AddMissingIds(nb, "nb.ipynb"));
        var ids = Ipynb.Cells(nb).Select(c => Ipynb.Id(c!)!).ToList();
        Assert.Equal("a", ids[0]);
        Assert.Equal(4, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(Ipynb.IsValidId(id), id));
    }

    /// <summary>Files that are JSON but not notebooks, and the one line each gets.</summary>
    static readonly (string Json, string Message)[] NotNotebooks =
    [
        ("[1, 2]", "not a notebook (no \"cells\" array)"),
        ("{\"cells\": {}}", "not a notebook (no \"cells\" array)"),
        ("{\"cells\": [3]}", "cell 1 is not an object"),
        ("{\"cells\": [{\"source\": \"x\"}]}", "cell 1 has no \"cell_type\" string"),
        ("{\"cells\": [{\"cell_type\": \"code\", \"id\": 7}]}", "cell 1: \"id\" is not a string"),
        ("{\"cells\": [{\"cell_type\": \"code\", \"source\": [\"a\", 1]}]}", "cell 1: \"source\" is neither a string nor a list of strings"),
        ("{\"cells\": [{\"cell_type\": \"code\", \"execution_count\": \"1\"}]}", "cell 1: \"execution_count\" is not a whole number"),
        ("{\"cells\": [{\"cell_type\": \"code\", \"outputs\": [{\"text\": \"x\"}]}]}", "cell 1: an output is not an object with an \"output_type\" string"),
    ];

    [Fact]
    public void Refuses_what_is_not_a_notebook_with_one_line_naming_the_file()
    {
        foreach (var (json, message) in NotNotebooks)
            Assert.Equal("nb.ipynb: " + message, Assert.Throws<InvalidDataException>(() => Parse(json)).Message);
    }

    [Fact]
    public void Bad_JSON_and_deep_nesting_give_one_clean_line()
    {
        var e = Assert.Throws<InvalidDataException>(() => Parse("{\"cells\": [\u0001"));
        Assert.StartsWith("nb.ipynb: not valid JSON (", e.Message);
        Assert.DoesNotContain(e.Message, char.IsControl);
        var deep = "{\"cells\": [], \"metadata\": " + new string('[', 500) + new string(']', 500) + "}";
        Assert.StartsWith("nb.ipynb: not valid JSON (", Assert.Throws<InvalidDataException>(() => Parse(deep)).Message);
    }

    [Fact]
    public void A_file_larger_than_the_limit_is_refused_before_it_is_read()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ipynb-{Guid.NewGuid():N}.ipynb");
        File.WriteAllText(path, ThreeCells);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => Ipynb.Load(path, maxBytes: 100));
            Assert.Equal($"{path}: {new FileInfo(path).Length} bytes, more than the 100 allowed for a notebook", e.Message);
            Assert.Equal(3, Ipynb.Cells(Ipynb.Load(path)).Count);
        }
        finally { File.Delete(path); }
    }

    /// <summary>Found by the mutation fuzzer: System.Text.Json decodes strings lazily, so these crashed the old readers later.</summary>
    [Fact]
    public void Bad_strings_and_repeated_keys_are_refused_while_parsing()
    {
        var badUtf8 = Encoding.UTF8.GetBytes("{\"cells\": [], \"metadata\": {\"x\": \"ab\"}}");
        badUtf8[Array.IndexOf(badUtf8, (byte)'a')] = 0xC3;
        Assert.StartsWith("nb.ipynb: ", Assert.Throws<InvalidDataException>(() => Ipynb.Parse(badUtf8, "nb.ipynb")).Message);
        Assert.Equal("nb.ipynb: a string is not valid UTF-8 or has a broken escape",
            Assert.Throws<InvalidDataException>(() => Parse("{\"cells\": [], \"m\": \"\\udc00\"}")).Message);
        Assert.StartsWith("nb.ipynb: ", Assert.Throws<InvalidDataException>(() => Parse("{\"cells\": [], \"m\": 1, \"m\": 2}")).Message);
    }
}
