using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// A model that hands out intermediate results directly, so layer methods and layer targets need no hooks.
/// </summary>
/// <remarks>
/// <see cref="forward_features"/> returns a tensor for each requested name; the name <see cref="Output"/> stands
/// for the model's final output. The returned tensors must be part of the autograd graph of <c>x</c>.
/// </remarks>
/// <example><code>
/// public Dictionary&lt;string, Tensor&gt; forward_features(Tensor x, params string[] names)
/// {
///     var all = new Dictionary&lt;string, Tensor&gt;();
///     var h = stem.call(x);    all["stem"] = h;
///     h = layer4.call(h);      all["layer4"] = h;
///     all[ITappable.Output] = pool.call(h);
///     return names.ToDictionary(n => n, n => all[n]);
/// }
/// // then: new GradCam(backbone, "layer4"), Target.Channel("layer4", 42)
/// </code></example>
public interface ITappable
{
    /// <summary>Name of the model's final output in <see cref="forward_features"/>.</summary>
    public const string Output = "output";

    /// <summary>The taps that <see cref="forward_features"/> accepts (without <see cref="Output"/>), or null (the
    /// default) when every name asked for should go to <see cref="forward_features"/>. Names not listed here are
    /// looked up among the submodules and captured with hooks instead.</summary>
    IReadOnlyList<string>? TapNames => null;

    /// <summary>Runs the model on <paramref name="x"/> (N×C×H×W) and returns the named intermediate results.</summary>
    Dictionary<string, Tensor> forward_features(Tensor x, params string[] names);
}
