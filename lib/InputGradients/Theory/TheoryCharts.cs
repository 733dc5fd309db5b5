using Plotly.NET;

namespace InputGradients.Theory;

/// <summary>
/// Plotly.NET charts for the theory notebooks, built from the library's computed data (Plotly.NET's F# optional
/// arguments are awkward from a notebook cell, so the calls live here).
/// </summary>
public static class TheoryCharts
{
    // Traces and layout are set as plain plotly.js properties: Plotly.NET's F# optional arguments are all
    // mandatory when called from C#, and the property names are plotly.js's own (documented, stable).
    static GenericChart Scatter(IEnumerable<double> x, IEnumerable<double> y, string mode, string name,
        IEnumerable<string>? text = null, bool showLegend = true, bool fill = false, string? color = null, double? opacity = null,
        string? dash = null, double? markerSize = null)
    {
        var t = new Trace2D("scatter");
        t.SetProperty("x", x.ToArray());
        t.SetProperty("y", y.ToArray());
        t.SetProperty("mode", mode);
        t.SetProperty("name", name);
        t.SetProperty("showlegend", showLegend);
        if (text is not null) { t.SetProperty("text", text.ToArray()); t.SetProperty("textposition", "middle center"); }
        if (opacity is { } o) t.SetProperty("opacity", o);
        var marker = new Dictionary<string, object>();
        if (color is not null) marker["color"] = color;
        if (markerSize is { } ms) marker["size"] = ms;
        if (marker.Count > 0) t.SetProperty("marker", marker);
        var line = new Dictionary<string, object>();
        if (color is not null) line["color"] = color;
        if (dash is not null) line["dash"] = dash;
        if (line.Count > 0) t.SetProperty("line", line);
        if (fill) { t.SetProperty("fill", "toself"); if (color is not null) t.SetProperty("fillcolor", color); }
        return GenericChart.ofTraceObject(false, t);
    }

    static GenericChart Layout(GenericChart chart, string title, string xTitle, string yTitle, (double, double)? xRange = null, (double, double)? yRange = null, bool square = false)
    {
        var layout = new Layout();
        layout.SetProperty("title", new Dictionary<string, object> { ["text"] = title });
        layout.SetProperty("width", square ? 600 : 720);
        layout.SetProperty("height", square ? 600 : 420);
        object Axis(string axisTitle, (double, double)? range, bool anchor)
        {
            var a = new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = axisTitle }, ["zeroline"] = false };
            if (range is { } r) a["range"] = new[] { r.Item1, r.Item2 };
            if (anchor) a["scaleanchor"] = "x";
            return a;
        }
        layout.SetProperty("xaxis", Axis(xTitle, xRange, false));
        layout.SetProperty("yaxis", Axis(yTitle, yRange, square));
        return GenericChart.setLayout(layout, chart);
    }

    static GenericChart Combine(IEnumerable<GenericChart> charts) => GenericChart.combine(charts);

    /// <summary>
    /// Q2: the four points of {0,1}² coloured by f's output, and the line w·x + b = 0 of each unit given
    /// (the unit fires on the side where w·x + b ≥ 0).
    /// </summary>
    public static GenericChart TruthTablePlane(BooleanFunction f, params (string Name, ThresholdUnit Unit)[] units)
    {
        if (f.Arity != 2) throw new ArgumentException($"TruthTablePlane draws functions of 2 inputs; {f.Name} has {f.Arity}.", nameof(f));
        var charts = new List<GenericChart>();
        foreach (var value in new[] { true, false })
        {
            var rows = Enumerable.Range(0, 4).Where(k => f[k] == value).ToArray();
            charts.Add(Scatter(rows.Select(k => (double)f.Point(k)[0]), rows.Select(k => (double)f.Point(k)[1]), "markers",
                $"{f.Name} = {(value ? 1 : 0)}", color: value ? "#1f77b4" : "#d62728", markerSize: 16));
        }
        var dashes = new[] { "solid", "dash", "dot" };
        for (int u = 0; u < units.Length; u++)
        {
            var (name, unit) = units[u];
            var (w1, w2, b) = ((double)unit.Weights[0], (double)unit.Weights[1], (double)unit.Bias);
            double[] xs, ys;
            if (w2 != 0) { xs = new[] { -0.5, 1.5 }; ys = xs.Select(x => -(w1 * x + b) / w2).ToArray(); }
            else { ys = new[] { -0.5, 1.5 }; xs = ys.Select(_ => -b / w1).ToArray(); }
            charts.Add(Scatter(xs, ys, "lines", $"{name}: {unit.BoundaryText()}",
                dash: dashes[u % dashes.Length]));
        }
        return Layout(Combine(charts), $"{f.Name}: the four inputs", "x₁", "x₂", (-0.5, 1.5), (-0.5, 1.5), square: true);
    }

    /// <summary>Q3: the 1-D network's graph on [0,1] for each depth, from its exact breakpoints.</summary>
    public static GenericChart Sawtooth(IEnumerable<int> depths)
    {
        var charts = depths.Select(l =>
        {
            var g = IdentifiedRegions.Graph1D(PiecewiseLinearNetwork.Question(1, l));
            return Scatter(g.Select(p => p.X.ToDouble()), g.Select(p => p.Y.ToDouble()), "lines", $"L = {l} ({g.Count - 1} pieces)");
        }).ToList();
        return Layout(Combine(charts), "f(x) = h_L(x) for d = 1", "x", "f(x)", (0, 1), (-0.02, 1.02));
    }

    /// <summary>
    /// Q3, d = 2: each linear region as a filled polygon labelled with its index and sign pattern (and marked ✓ if it
    /// is identified onto (0,1)²).
    /// </summary>
    public static GenericChart Regions2D(RegionAnalysis analysis)
    {
        if (analysis.Network.InputDim != 2) throw new ArgumentException($"Regions2D draws 2-D inputs; the network has {analysis.Network.InputDim}.", nameof(analysis));
        var palette = new[] { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };
        var charts = new List<GenericChart>();
        for (int i = 0; i < analysis.Regions.Count; i++)
        {
            var r = analysis.Regions[i];
            var poly = r.Region.Polygon();
            var closed = poly.Append(poly[0]).ToList();
            charts.Add(Scatter(closed.Select(p => p.X), closed.Select(p => p.Y), "lines", $"R{i + 1}",
                showLegend: false, fill: true, color: palette[i % palette.Length], opacity: 0.45));
        }
        var centres = analysis.Regions.Select(r => r.Region.Polygon()).Select(p => (X: p.Average(v => v.X), Y: p.Average(v => v.Y))).ToList();
        var labels = analysis.Regions.Select((r, i) => $"R{i + 1}<br>{r.Label}{(r.IdentifiedOntoCube ? " ✓" : "")}").ToList();
        charts.Add(Scatter(centres.Select(c => c.X), centres.Select(c => c.Y), "text", "labels", text: labels, showLegend: false));
        return Layout(Combine(charts),
            $"{analysis.Network.Name}: {analysis.LinearRegionCount} linear regions, {analysis.IdentifiedCount} identified onto (0,1)²",
            "x₁", "x₂", (0, 1), (0, 1), square: true);
    }
}
