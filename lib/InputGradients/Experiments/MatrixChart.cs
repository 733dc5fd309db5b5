using Plotly.NET;

namespace InputGradients.Experiments;

/// <summary>Plotly heatmaps of labelled matrices (confusion matrices, similarity matrices).</summary>
public static class MatrixChart
{
    /// <summary>
    /// A Plotly heatmap of a matrix with labelled rows (top to bottom) and columns, its values written in the cells
    /// (<paramref name="valueFormat"/>, e.g. "0" or "0.00"). Used for confusion and similarity matrices.
    /// <paramref name="zmin"/>/<paramref name="zmax"/> fix the colour range (values outside it take the end colours),
    /// e.g. to keep a similarity matrix's diagonal of ones from flattening the other entries.
    /// </summary>
    public static GenericChart Heatmap(double[,] z, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels,
        string title, string xTitle = "", string yTitle = "", string valueFormat = "0.00", string colorscale = "Viridis",
        int size = 640, double? zmin = null, double? zmax = null, bool reverseScale = false)
    {
        int rows = z.GetLength(0), cols = z.GetLength(1);
        if (rowLabels.Count != rows || columnLabels.Count != cols)
            throw new ArgumentException($"Heatmap: a {rows} x {cols} matrix with {rowLabels.Count} row and {columnLabels.Count} column labels.");
        var values = Enumerable.Range(0, rows).Select(i => Enumerable.Range(0, cols).Select(j => z[i, j]).ToArray()).ToArray();
        var text = values.Select(r => r.Select(v => v.ToString(valueFormat, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
        // Plain plotly.js properties: Plotly.NET's F# optional arguments are all mandatory from C#.
        var t = new Trace2D("heatmap");
        t.SetProperty("z", values);
        t.SetProperty("x", columnLabels.ToArray());
        t.SetProperty("y", rowLabels.ToArray());
        t.SetProperty("text", text);
        t.SetProperty("texttemplate", "%{text}");
        t.SetProperty("hovertemplate", "%{y} / %{x}: %{text}<extra></extra>");
        t.SetProperty("colorscale", colorscale);
        if (reverseScale) t.SetProperty("reversescale", true);
        if (zmin is not null || zmax is not null)
        {
            // plotly.js ignores one bound without the other: the missing one is the data's own.
            t.SetProperty("zmin", zmin ?? values.SelectMany(r => r).Min());
            t.SetProperty("zmax", zmax ?? values.SelectMany(r => r).Max());
        }
        var chart = GenericChart.ofTraceObject(false, t);
        var layout = new Layout();
        layout.SetProperty("title", new Dictionary<string, object> { ["text"] = title });
        layout.SetProperty("width", size + 120);
        layout.SetProperty("height", size);
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = xTitle }, ["tickangle"] = -45 });
        // Row 0 at the top, as a matrix is read.
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = yTitle }, ["autorange"] = "reversed" });
        return GenericChart.setLayout(layout, chart);
    }

    /// <summary>A heatmap of counts (a confusion matrix).</summary>
    public static GenericChart Heatmap(long[,] counts, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels,
        string title, string xTitle = "", string yTitle = "", int size = 640)
    {
        var z = new double[counts.GetLength(0), counts.GetLength(1)];
        for (int i = 0; i < z.GetLength(0); i++)
            for (int j = 0; j < z.GetLength(1); j++) z[i, j] = counts[i, j];
        // Plotly's "Blues" runs from dark to light; reversed, large counts are dark.
        return Heatmap(z, rowLabels, columnLabels, title, xTitle, yTitle, "0", "Blues", size, reverseScale: true);
    }
}
