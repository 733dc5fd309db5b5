using InputGradients.Synthesis;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

public class ClassVisualizationTransformsTests
{
    [Fact]
    public void Jitter_is_a_circular_shift_and_undoes_exactly()
    {
        using var x = torch.arange(2 * 3 * 4, dtype: ScalarType.Float64).reshape(1, 2, 3, 4);
        using var j = ClassVisualizationTransforms.jitter(x, 1, 2);   // ox along W, oy along H
        var a = x.data<double>().ToArray();
        var b = j.data<double>().ToArray();
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < 3; h++)
                for (int w = 0; w < 4; w++)
                    Assert.Equal(a[c * 12 + ((h - 2 + 3) % 3) * 4 + (w - 1 + 4) % 4], b[c * 12 + h * 4 + w]);
        using var back = ClassVisualizationTransforms.jitter(j, -1, -2);
        Assert.Equal(a, back.data<double>().ToArray());
    }

    [Fact]
    public void Gaussian_kernel_has_scipys_weights_for_sigma_half()
    {
        // SciPy gaussian_filter1d, sigma 0.5, truncate 4: radius 2, weights exp(-2i²) normalised.
        var k = ClassVisualizationTransforms.gaussian_kernel(0.5);
        double s = 1 + 2 * Math.Exp(-2) + 2 * Math.Exp(-8);
        Assert.Equal(5, k.Length);
        Assert.Equal(1 / s, k[2], 15);
        Assert.Equal(Math.Exp(-2) / s, k[1], 15);
        Assert.Equal(Math.Exp(-8) / s, k[0], 15);
        Assert.Equal(0.7865707, k[2], 7);
    }

    [Fact]
    public void Gaussian_blur_matches_a_direct_loop_with_reflected_edges()
    {
        var gen = new torch.Generator(3);
        using var x = torch.randn(new long[] { 1, 2, 5, 6 }, dtype: ScalarType.Float64, generator: gen);
        using var y = ClassVisualizationTransforms.gaussian_blur(x, 0.8);
        var k = ClassVisualizationTransforms.gaussian_kernel(0.8);
        int r = k.Length / 2, H = 5, W = 6;
        var a = x.data<double>().ToArray();
        var b = y.data<double>().ToArray();
        static int Reflect(int i, int n) => i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i;   // d c b a | a b c d
        for (int c = 0; c < 2; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    double v = 0;
                    for (int i = -r; i <= r; i++)
                        for (int j = -r; j <= r; j++)
                            v += k[i + r] * k[j + r] * a[c * H * W + Reflect(h + i, H) * W + Reflect(w + j, W)];
                    Assert.Equal(v, b[c * H * W + h * W + w], 12);
                }
    }
}
