namespace InputGradients.Display;

/// <summary>
/// Colour maps with matplotlib's definitions: piecewise-linear segment data sampled into a 256-entry table,
/// and a value x in [0, 1] picks entry min(floor(x * 256), 255), as <c>matplotlib.colors.LinearSegmentedColormap</c> does.
/// </summary>
public sealed class ColorMap
{
    const int N = 256;
    readonly byte[] _lut; // N * 3, RGB

    ColorMap(string name, (double x, double y)[] red, (double x, double y)[] green, (double x, double y)[] blue)
    {
        Name = name;
        _lut = new byte[N * 3];
        for (int i = 0; i < N; i++)
        {
            double x = i / (double)(N - 1);
            _lut[3 * i] = ToByte(Interpolate(red, x));
            _lut[3 * i + 1] = ToByte(Interpolate(green, x));
            _lut[3 * i + 2] = ToByte(Interpolate(blue, x));
        }
    }

    public string Name { get; }

    /// <summary>Black to white.</summary>
    public static ColorMap Grey { get; } = new("grey", [(0, 0), (1, 1)], [(0, 0), (1, 1)], [(0, 0), (1, 1)]);

    /// <summary>matplotlib's "jet" (dark blue, cyan, yellow, dark red): the usual saliency/CAM heat map.</summary>
    public static ColorMap Jet { get; } = new("jet",
        [(0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)],
        [(0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)],
        [(0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0)]);

    /// <summary>matplotlib's "hot" (black, red, yellow, white): the original assignment's saliency maps.</summary>
    public static ColorMap Hot { get; } = new("hot",
        [(0, 0.0416), (0.365079, 1), (1, 1)],
        [(0, 0), (0.365079, 0), (0.746032, 1), (1, 1)],
        [(0, 0), (0.746032, 0), (1, 1)]);

    /// <summary>matplotlib's "bwr" (blue, white, red): signed maps with <see cref="ImageScale.Symmetric"/>, zero is white.</summary>
    public static ColorMap Bwr { get; } = new("bwr",
        [(0, 0), (0.5, 1), (1, 1)],
        [(0, 0), (0.5, 1), (1, 0)],
        [(0, 1), (0.5, 1), (1, 0)]);

    /// <summary>The table entry for x (clamped to [0, 1]; NaN maps to 0) as floats in [0, 1].</summary>
    public (double R, double G, double B) Map(double x)
    {
        var (r, g, b) = MapToBytes(x);
        return (r / 255.0, g / 255.0, b / 255.0);
    }

    public (byte R, byte G, byte B) MapToBytes(double x)
    {
        int i = double.IsNaN(x) ? 0 : (int)Math.Clamp(Math.Floor(x * N), 0, N - 1);
        return (_lut[3 * i], _lut[3 * i + 1], _lut[3 * i + 2]);
    }

    public override string ToString() => Name;

    static double Interpolate((double x, double y)[] points, double x)
    {
        if (x <= points[0].x) return points[0].y;
        for (int k = 1; k < points.Length; k++)
        {
            if (x <= points[k].x)
            {
                var (x0, y0) = points[k - 1];
                var (x1, y1) = points[k];
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
            }
        }
        return points[^1].y;
    }

    static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v * 255.0), 0, 255);
}
