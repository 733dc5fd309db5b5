using System.Globalization;
using System.Text;
using InputGradients.Core;
using InputGradients.Display;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Metrics;

/// <summary>An attribution method by name: any function of (inputs, target) giving N×H×W, N×1×H×W or N×C×H×W maps
/// (layer maps are brought to the input size bilinearly).</summary>
public sealed record NamedMethod(string Name, Func<Tensor, Target, Tensor> Attribute);

/// <summary>One method's faithfulness scores, one value per example.</summary>
public sealed record FaithfulnessRow(string Method, double[] Deletion, double[] Insertion, double[] RoadGap)
{
    public static (double mean, double sd) Stats(double[] v)
    {
        double m = v.Average();
        return (m, v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1)) : 0.0);
    }
}

/// <summary>Runs the faithfulness metrics and sanity checks for several methods and lays the results out.</summary>
public static class TrustReport
{
    /// <summary>The maps of <paramref name="method"/> for <paramref name="inputs"/> at input size, per pixel (N×H×W, double).</summary>
    public static Tensor pixel_maps(NamedMethod method, Tensor inputs, Target target)
    {
        using var scope = torch.NewDisposeScope();
        var a = method.Attribute(inputs, target);
        if (a.dim() == 4 && (a.shape[2] != inputs.shape[2] || a.shape[3] != inputs.shape[3]))
            a = LayerAttribution.interpolate(a, inputs.shape[2], inputs.shape[3]);
        return PixelMaps.per_pixel(a, method.Name).MoveToOuterDisposeScope();
    }

    /// <summary>Deletion area, insertion area and ROAD gap of every method on the same images.</summary>
    public static List<FaithfulnessRow> faithfulness(Faithfulness f, Tensor inputs, Target target, IEnumerable<NamedMethod> methods)
    {
        var rows = new List<FaithfulnessRow>();
        foreach (var m in methods) {
            using var maps = pixel_maps(m, inputs, target);
            rows.Add(new FaithfulnessRow(m.Name, f.deletion(inputs, maps, target).Area, f.insertion(inputs, maps, target).Area,
                f.road(inputs, maps, target).Gap));
        }
        return rows;
    }

    /// <summary>A plain-text table: mean ± standard deviation over the images of each metric (the value alone for one image).</summary>
    public static string table(IEnumerable<FaithfulnessRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"method",-16} {"deletion AUC ↓",18} {"insertion AUC ↑",18} {"ROAD LeRF−MoRF ↑",18}");
        foreach (var r in rows)
            sb.AppendLine($"{r.Method,-16} {F(r.Deletion),18} {F(r.Insertion),18} {F(r.RoadGap),18}");
        return sb.ToString();
        static string F(double[] v)
        {
            var (m, s) = FaithfulnessRow.Stats(v);
            return v.Length > 1 ? string.Create(CultureInfo.InvariantCulture, $"{m:F3} ± {s:F3}") : string.Create(CultureInfo.InvariantCulture, $"{m:F3}");
        }
    }

    /// <summary>A grid with one row per method: the image's map before randomisation, then after each step.</summary>
    public static ImageGrid sanity_grid(IReadOnlyList<(string method, SanityResult result)> results, int example, string title, int panel = 90)
    {
        var first = results[0].result;
        var grid = new ImageGrid(first.Steps.Count).Title(title).PanelSize(panel);
        grid.RowLabels(results.Select(r => r.method).ToArray());
        foreach (var (method, r) in results)
            foreach (var step in r.Steps) {
                var map = new double[r.Height, r.Width];
                var v = step.Maps[example];
                for (int i = 0; i < r.Height; i++) for (int j = 0; j < r.Width; j++) map[i, j] = Math.Abs(v[i * r.Width + j]);
                grid.Heatmap(map, step.Randomized == "none" ? "trained" : $"→ {step.Randomized.Split('.')[^1]}", ColorMap.Hot);
            }
        return grid;
    }

    /// <summary>Mean of the defined (non-NaN) values; NaN when none is defined.</summary>
    public static double MeanDefined(double[] v) => v.Any(x => !double.IsNaN(x)) ? v.Where(x => !double.IsNaN(x)).Average() : double.NaN;

    /// <summary>Three small tables, one row per method and one column per randomisation step (the layer's last name):
    /// the mean over examples of the Spearman rank correlation of |map| with the trained model's map, then of SSIM,
    /// then of HOG similarity.</summary>
    public static string sanity_table(IReadOnlyList<(string method, SanityResult result)> results)
    {
        var steps = results[0].result.Steps.Skip(1).Select(s => s.Randomized.Split('.')[^1]).ToList();
        var sb = new StringBuilder();
        var header = $"{"randomised to:",-16}" + string.Join("", steps.Select(s => $"{(s.Length > 7 ? s[..7] : s),8}"));
        sb.AppendLine("Spearman rank correlation of |map| with the trained model's map (mean over images)");
        sb.AppendLine(header);
        foreach (var (method, r) in results)
            sb.AppendLine($"{method,-16}" + string.Join("", r.Steps.Skip(1).Select(s =>
                string.Create(CultureInfo.InvariantCulture, $"{s.MeanSpearmanAbs,7:F2}{(s.Undefined > 0 ? "*" : " ")}"))));
        var undefined = results.Sum(r => r.result.Steps.Sum(s => s.Undefined));
        if (undefined > 0)
            sb.AppendLine($"* {undefined} map(s) constant (e.g. all zero after a ReLU): rank correlation undefined there, the mean is over the other images");
        sb.AppendLine();
        Table("SSIM of |map| with the trained model's map (mean over images)", s => s.Ssim.Average());
        sb.AppendLine();
        Table("HOG similarity (Pearson correlation of HOG features) of |map| with the trained model's map (mean over images)", s => MeanDefined(s.Hog));
        return sb.ToString();

        void Table(string title, Func<SanityStep, double> value)
        {
            sb.AppendLine(title);
            sb.AppendLine(header);
            foreach (var (method, r) in results)
                sb.AppendLine($"{method,-16}" + string.Join("", r.Steps.Skip(1).Select(s =>
                    string.Create(CultureInfo.InvariantCulture, $"{value(s),7:F2} "))));
        }
    }
}
