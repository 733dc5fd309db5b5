using System.Text.Json;
using TorchSharp;
using InputGradients.Core;
using static TorchSharp.torch;

namespace InputGradients.Synthesis.Style;

/// <summary>One self-check: our value, PyTorch's, and the original's rel_error between them.</summary>
public sealed record StyleCheck(string Name, double Ours, double Reference, double RelError)
{
    public override string ToString() =>
        FormattableString.Invariant($"{Name}: ours {Ours:G9}, PyTorch {Reference:G9}, rel_error {RelError:E2}");
}

/// <summary>
/// The original assignment's self-checks of the four losses, on a real network and real images: the inputs and
/// the reference values come from <c>tests/reference/style_backbone_reference.py</c> (PyTorch reading the same
/// ONNX graph, float64), saved in <c>tests/reference/fixtures/style/</c>: the two resized images as RGB bytes,
/// the channel means used, the settings and the losses. Here the same inputs go through our backbone and
/// <see cref="StyleLosses"/>.
/// </summary>
public sealed class StyleReferenceCheck
{
    /// <summary>The content and style images as the backbone's input (1×3×H×W, BGR minus the means).</summary>
    public required Tensor Content { get; init; }
    public required Tensor Style { get; init; }
    public required IReadOnlyList<StyleCheck> Checks { get; init; }
    /// <summary>Our Gram matrix of the style image at the Gram layer (1×C×C).</summary>
    public required Tensor Gram { get; init; }

    /// <summary>Runs the four checks with <paramref name="model"/> (an <see cref="ITappable"/> or a model whose
    /// submodules carry the tap names of the fixture) on the fixture in <paramref name="directory"/>
    /// (the repository's <c>tests/reference/fixtures/style</c>: the caller names it, the library never looks there).</summary>
    public static StyleReferenceCheck run(nn.Module<Tensor, Tensor> model, string directory)
    {
        var dir = directory;
        var jsonPath = Path.Combine(dir, "backbone.json");
        if (!File.Exists(jsonPath))
            throw new FileNotFoundException($"{jsonPath} not found: run tests/reference/style_backbone_reference.py with /usr/bin/python3", jsonPath);
        var j = JsonDocument.Parse(File.ReadAllText(jsonPath)).RootElement;
        long[] Ints(string name) => j.GetProperty(name).EnumerateArray().Select(v => v.GetInt64()).ToArray();
        double D(string name) => j.GetProperty(name).GetDouble();
        string S(string name) => j.GetProperty(name).GetString()!;
        var means = j.GetProperty("mean_bgr").EnumerateArray().Select(v => v.GetSingle()).ToArray();

        using var guard = new ModelGuard(model);
        model.eval();
        using var scope = NewDisposeScope();
        var content = Input(Path.Combine(dir, "content_192.u8"), Ints("content_shape_hwc"), means);
        var style = Input(Path.Combine(dir, "style_192.u8"), Ints("style_shape_hwc"), means);

        var styleLayers = j.GetProperty("style_layers").EnumerateArray().Select(v => v.GetString()!).ToArray();
        var styleWeights = j.GetProperty("style_weights").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var contentLayer = S("content_layer");
        var gramLayer = S("gram_layer");
        var checks = new List<StyleCheck>();
        Tensor gram;
        using (no_grad())
        {
            var c = LayerTaps.run(model, content, false, [.. styleLayers.Append(contentLayer).Distinct()]).layers;
            var s = LayerTaps.run(model, style, false, [.. styleLayers.Append(gramLayer).Distinct()]).layers;
            var z = LayerTaps.run(model, zeros_like(content), false, contentLayer).layers;

            var contentLoss = StyleLosses.content_loss(D("content_weight"), c[contentLayer], z[contentLayer]);
            checks.Add(Check("content loss", contentLoss, D("content_loss")));

            gram = StyleLosses.gram_matrix(s[gramLayer]);
            var gramShape = Ints("gram_shape");
            var gramPath = Path.Combine(dir, "gram_layer2.f32");
            var expectedGram = ReadFloats(gramPath, gramShape);
            checks.Add(new StyleCheck($"Gram matrix {S("gram_layer")} [{string.Join("×", gramShape)}] (largest entry)",
                gram.max().to_double(), expectedGram.max().to_double(), StyleLosses.rel_error(gram, expectedGram)));

            var targets = styleLayers.Select(l => StyleLosses.gram_matrix(s[l])).ToList();
            var styleLoss = StyleLosses.style_loss(styleLayers.Select(l => c[l]).ToList(), targets, styleWeights);
            checks.Add(Check("style loss", styleLoss, D("style_loss")));

            var tv = StyleLosses.tv_loss(content, D("tv_weight"));
            checks.Add(Check("TV loss", tv, D("tv_loss")));
        }
        return new StyleReferenceCheck
        {
            Content = content.MoveToOuterDisposeScope(), Style = style.MoveToOuterDisposeScope(),
            Gram = gram.MoveToOuterDisposeScope(), Checks = checks,
        };
    }

    static StyleCheck Check(string name, Tensor ours, double reference) =>
        new(name, ours.to_double(), reference, StyleLosses.rel_error(ours, tensor(reference, dtype: ScalarType.Float64)));

    /// <summary>H×W×3 RGB bytes → 1×3×H×W BGR minus <paramref name="meanBgr"/>, float32 (as the reference script).</summary>
    static Tensor Input(string path, long[] hwc, float[] meanBgr)
    {
        var bytes = File.ReadAllBytes(path);
        if (hwc.Length != 3 || hwc[2] != 3 || bytes.Length != hwc[0] * hwc[1] * 3)
            throw new InvalidDataException($"{path}: {bytes.Length} bytes, expected H×W×3 = {string.Join("×", hwc)}.");
        var rgb = tensor(bytes, dtype: ScalarType.Byte).reshape(hwc).permute(2, 0, 1).unsqueeze(0).to_type(ScalarType.Float32);
        var bgr = rgb.index_select(1, tensor(new long[] { 2, 1, 0 }));
        return bgr - tensor(meanBgr).view(1, 3, 1, 1);
    }

    static Tensor ReadFloats(string path, long[] shape)
    {
        var bytes = File.ReadAllBytes(path);
        var n = shape.Aggregate(1L, (a, b) => a * b);
        if (bytes.Length != 4 * n)
            throw new InvalidDataException($"{path}: {bytes.Length} bytes, expected {n} float32 values for shape [{string.Join(",", shape)}].");
        var values = new float[n];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The fixture is little-endian float32.");
        return tensor(values).reshape(shape);
    }
}
