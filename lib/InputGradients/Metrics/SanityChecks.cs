using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Metrics;

/// <summary>The maps after one randomisation step, and how alike they are to the maps of the trained model
/// (one value per example): Spearman rank correlation of the signed and of the absolute maps, SSIM and HOG similarity
/// (<see cref="Similarity.hog_similarity"/>) of the absolute maps.</summary>
public sealed record SanityStep(string Randomized, double[][] Maps, double[] Spearman, double[] SpearmanAbs, double[] Ssim, double[] Hog)
{
    /// <summary>Mean of <see cref="SpearmanAbs"/> over the examples where it is defined (a constant map, e.g. all
    /// zero after a ReLU, has no ranks); NaN when it is defined for none.</summary>
    public double MeanSpearmanAbs => TrustReport.MeanDefined(SpearmanAbs);

    /// <summary>Examples whose map (before or after randomisation) is constant, so that the correlation is undefined.</summary>
    public int Undefined => SpearmanAbs.Count(double.IsNaN);
}

/// <summary>The original maps (step "none") followed by one step per randomised layer; maps are H×W, row-major.</summary>
public sealed record SanityResult(string Mode, long Height, long Width, IReadOnlyList<SanityStep> Steps);

/// <summary>
/// Model parameter randomisation tests (Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity Checks for
/// Saliency Maps", NeurIPS 2018). Cascading: layers are randomised from the top down, each step keeping the
/// layers randomised before it. Independent: one layer at a time, the rest trained. A map that stays alike
/// (high rank correlation, high SSIM) while the weights that produce the prediction are destroyed does not
/// explain the model. Any method works: it is a function of (inputs, target) built on the same model object,
/// whose parameters are overwritten in place and restored bit for bit afterwards, also when the method throws.
/// </summary>
/// <remarks>A randomised parameter tensor gets values drawn from a normal distribution with the tensor's own mean
/// and standard deviation (seeded), so activations keep their scale while the learned structure is gone.
/// Maps are summed over channels; SSIM compares |map|, each scaled to [0, 1].</remarks>
/// <example><code>
/// var checks = new SanityChecks(model) { Seed = 1 };
/// var r = checks.cascading((x, t) => new Saliency(model).attribute(x, t), x, Target.Classes(y), checks.layers_top_down(x));
/// </code></example>
public sealed class SanityChecks(nn.Module<Tensor, Tensor> model)
{
    public long Seed { get; init; } = 0;

    /// <summary>Names of the modules that own parameters directly, from the output back to the input: the order in
    /// which they run on <paramref name="sample"/> (found with forward hooks), reversed. Modules that do not run
    /// through <c>call()</c> are not seen; pass their names yourself.</summary>
    public IReadOnlyList<string> layers_top_down(Tensor sample)
    {
        var order = new List<string>();
        using (var hooks = new HookScope()) {
            foreach (var (name, module) in model.named_modules())
                if (name != "" && module.named_parameters(recurse: false).Any() && module is nn.Module<Tensor, Tensor> m)
                    hooks.Add(m.register_forward_hook((_, _, y) => { if (!order.Contains(name)) order.Add(name); return y; }));
            using var no = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            model.call(sample);
        }
        order.Reverse();
        return order;
    }

    public SanityResult cascading(Func<Tensor, Target, Tensor> attribute, Tensor inputs, Target target, IReadOnlyList<string> layers) =>
        run("cascading", attribute, inputs, target, layers, cascade: true);

    public SanityResult independent(Func<Tensor, Target, Tensor> attribute, Tensor inputs, Target target, IReadOnlyList<string> layers) =>
        run("independent", attribute, inputs, target, layers, cascade: false);

    SanityResult run(string mode, Func<Tensor, Target, Tensor> attribute, Tensor inputs, Target target, IReadOnlyList<string> layers, bool cascade)
    {
        if (inputs.dim() != 4) throw new ArgumentException($"SanityChecks: inputs must be N×C×H×W, got [{string.Join(",", inputs.shape)}].");
        if (layers.Count == 0) throw new ArgumentException("SanityChecks: no layers to randomise.");
        var modules = layers.Select(l => (l, module: (nn.Module)LayerTaps.find(model, l))).ToList();
        foreach (var (l, m) in modules)
            if (!m.parameters().Any()) throw new ArgumentException($"SanityChecks: layer '{l}' has no parameters to randomise.");
        long h = inputs.shape[2], w = inputs.shape[3];
        // Everything made here, including the copies of the weights, dies with this scope: results are plain arrays.
        using var scope = torch.NewDisposeScope();
        var all = model.parameters().ToList();
        var saved = new List<Tensor>();
        using (torch.no_grad()) foreach (var p in all) saved.Add(p.detach().clone());
        try {
            var original = maps_of(attribute, inputs, target, h, w);
            var steps = new List<SanityStep> { compare("none", original, original, h, w) };
            var gen = new torch.Generator((ulong)Seed);
            foreach (var (name, module) in modules) {
                if (!cascade) restore(all, saved);
                randomize(module, gen);
                steps.Add(compare(name, original, maps_of(attribute, inputs, target, h, w), h, w));
            }
            return new SanityResult(mode, h, w, steps);
        } finally {
            restore(all, saved);
        }
    }

    /// <summary>
    /// Data randomisation test (Adebayo et al. 2018, section 4): the same method on the trained model and on a model
    /// of the same architecture trained on randomly permuted labels (which can only memorise them). A method whose
    /// maps stay alike explains the input, not what the model learned. Step "none" compares the trained maps with
    /// themselves, step "random labels" the random-label model's maps with them.
    /// </summary>
    /// <param name="trained">The method on the trained model, e.g. <c>new Saliency(model).attribute</c>.</param>
    /// <param name="randomLabels">The same method on the random-label model.</param>
    /// <example><code>
    /// var r = SanityChecks.data_randomisation(new Saliency(model).attribute, new Saliency(shuffled).attribute, x, Target.Classes(y));
    /// double rho = r.Steps[1].MeanSpearmanAbs;
    /// </code></example>
    public static SanityResult data_randomisation(Func<Tensor, Target, Tensor> trained, Func<Tensor, Target, Tensor> randomLabels, Tensor inputs, Target target)
    {
        if (inputs.dim() != 4) throw new ArgumentException($"data_randomisation: inputs must be N×C×H×W, got [{string.Join(",", inputs.shape)}].");
        long h = inputs.shape[2], w = inputs.shape[3];
        var original = maps_of(trained, inputs, target, h, w);
        var random = maps_of(randomLabels, inputs, target, h, w);
        return new SanityResult("data", h, w, new[] { compare("none", original, original, h, w), compare("random labels", original, random, h, w) });
    }

    static void randomize(nn.Module module, torch.Generator gen)
    {
        using var no = torch.no_grad();
        foreach (var p in module.parameters()) {
            using var scope = torch.NewDisposeScope();
            var data = p.detach().to_type(ScalarType.Float64);
            double mean = data.mean().item<double>(), std = p.numel() > 1 ? data.std(unbiased: false).item<double>() : 0.0;
            var r = torch.randn(p.shape, dtype: ScalarType.Float64, generator: gen).mul_scalar(std).add_scalar(mean);
            p.copy_(r.to_type(p.dtype).to(p.device));
        }
    }

    static void restore(List<TorchSharp.Modules.Parameter> all, List<Tensor> saved)
    {
        using var no = torch.no_grad();
        for (int i = 0; i < all.Count; i++) all[i].copy_(saved[i]);
    }

    static double[][] maps_of(Func<Tensor, Target, Tensor> attribute, Tensor inputs, Target target, long h, long w)
    {
        using var scope = torch.NewDisposeScope();
        var a = attribute(inputs, target);
        if (a.dim() == 4 && (a.shape[2] != h || a.shape[3] != w))
            a = LayerAttribution.interpolate(a, h, w);
        var pix = PixelMaps.per_pixel(a, "SanityChecks");
        if (pix.shape[0] != inputs.shape[0] || pix.shape[1] != h || pix.shape[2] != w)
            throw new ArgumentException($"SanityChecks: the method returned shape [{string.Join(",", a.shape)}] for inputs [{string.Join(",", inputs.shape)}].");
        return Enumerable.Range(0, (int)inputs.shape[0]).Select(i => PixelMaps.row(pix, i)).ToArray();
    }

    static SanityStep compare(string name, double[][] original, double[][] maps, long h, long w)
    {
        int n = original.Length;
        var sp = new double[n]; var spa = new double[n]; var ss = new double[n]; var hog = new double[n];
        // HOG needs at least one block of 2×2 cells; smaller maps get NaN there.
        int cell = Similarity.hog_cell((int)h, (int)w);
        bool hogFits = h / cell >= 2 && w / cell >= 2;
        for (int i = 0; i < n; i++) {
            var a = original[i].Select(Math.Abs).ToArray(); var b = maps[i].Select(Math.Abs).ToArray();
            sp[i] = Similarity.spearman(original[i], maps[i]);
            spa[i] = Similarity.spearman(original[i], maps[i], absolute: true);
            ss[i] = Similarity.ssim(a, b, (int)h, (int)w, (int)Math.Min(7, Math.Min(h, w)));
            hog[i] = hogFits ? Similarity.hog_similarity(a, b, (int)h, (int)w, cell) : double.NaN;
        }
        return new SanityStep(name, maps, sp, spa, ss, hog);
    }
}
