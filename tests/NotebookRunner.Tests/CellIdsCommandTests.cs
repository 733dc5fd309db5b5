using System.Text.Json.Nodes;

namespace NotebookRunner.Tests;

/// <summary><c>nbrun ids</c> (what <c>./run cell-ids</c> runs): ids for cells lacking one, in place, nothing else changed.</summary>
public class CellIdsCommandTests
{
    [Fact]
    public async Task Adds_missing_ids_keeps_the_rest_and_a_second_run_changes_nothing()
    {
        var dir = Directory.CreateTempSubdirectory("nbrun-ids-");
        try
        {
            var path = Path.Combine(dir.FullName, "nb.ipynb");
            File.WriteAllText(path, """
                {
                 "cells": [
                  {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Title"]},
                  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], "source": ["1 + 1 // café"]}
                 ],
                 "metadata": {"kernelspec": {"name": ".net-csharp"}},
                 "nbformat": 4,
                 "nbformat_minor": 4
                }
                """);
            var (exit, text) = await CliRunner.Run("ids", path);
            Assert.True(exit == 0, text);
            Assert.Contains("1 id(s) added", text);
            var nb = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var cells = nb["cells"]!.AsArray();
            Assert.Equal("intro", (string?)cells[0]!["id"]);
            Assert.Matches("^[A-Za-z0-9_-]{1,64}$", (string?)cells[1]!["id"]);
            Assert.Equal(5, (int?)nb["nbformat_minor"]);
            Assert.Equal("1 + 1 // café", (string?)cells[1]!["source"]![0]);   // text kept as written (no \u escapes)
            Assert.Contains("café", File.ReadAllText(path));
            var after = File.ReadAllBytes(path);

            (exit, text) = await CliRunner.Run("ids", path);
            Assert.Equal(0, exit);
            Assert.Contains("0 id(s) added", text);
            Assert.Equal(after, File.ReadAllBytes(path));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public async Task A_file_that_is_not_a_notebook_is_named_and_left_alone()
    {
        var dir = Directory.CreateTempSubdirectory("nbrun-ids-");
        try
        {
            var path = Path.Combine(dir.FullName, "broken.ipynb");
            File.WriteAllText(path, "{\"cells\": 3}");
            var (exit, text) = await CliRunner.Run("ids", path);
            Assert.Equal(2, exit);
            Assert.Contains($"{path}: not a notebook", text.Replace("\n", ""));
            Assert.Equal("{\"cells\": 3}", File.ReadAllText(path));
        }
        finally { dir.Delete(recursive: true); }
    }
}
