namespace InputGradients.Display;

/// <summary>How a panel's numbers become intensities in [0, 1].</summary>
public enum ImageScale
{
    /// <summary>uint8 tensors are divided by 255; float data above 1 is taken as 0-255, otherwise as 0-1. Clamped.</summary>
    Auto,
    /// <summary>Values are already 0-1 (clamped).</summary>
    Unit,
    /// <summary>Values are 0-255 (divided by 255, clamped).</summary>
    Byte,
    /// <summary>The panel's own minimum maps to 0 and maximum to 1 (matplotlib's imshow default).</summary>
    MinMax,
    /// <summary>[-m, m] maps to [0, 1] with m the largest magnitude: zero sits mid-scale (signed maps, differences).</summary>
    Symmetric,
}
