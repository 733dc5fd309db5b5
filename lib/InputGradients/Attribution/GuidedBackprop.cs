using InputGradients.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace InputGradients.Attribution;

/// <summary>
/// Guided backpropagation (Springenberg et al., "Striving for Simplicity: The All Convolutional Net", ICLR
/// workshop 2015): the input gradient when every ReLU's backward passes only positive gradients at positive inputs.
/// </summary>
/// <remarks>
/// Every <see cref="ReLU"/> module anywhere in the model tree (inside blocks, in-place or not) is made guided for
/// the run: a forward hook replaces its output by <see cref="GuidedReluFunction"/> of its input (same forward
/// value), and in-place ReLUs are switched to out-of-place; all of it is undone in <c>finally</c>.
/// Limits, detected and reported: a ReLU module whose hook never fires (the parent calls <c>.forward()</c> on it,
/// which skips hooks in TorchSharp) throws when <see cref="Strict"/>, and a model with no ReLU module at all throws.
/// A functional <c>relu</c> inside a custom <c>forward</c> cannot be seen from outside and stays unguided:
/// use <c>nn.ReLU</c> modules in models meant for guided backprop.
/// </remarks>
/// <example><code>
/// using var g = new GuidedBackprop(model).attribute(x, Target.Classes(y));   // N×3×H×W, signed
/// </code></example>
public sealed class GuidedBackprop(nn.Module<Tensor, Tensor> model) : IAttribution
{
    /// <summary>Throw when a ReLU module of the model was not reached through <c>call()</c> (default true);
    /// otherwise the names are reported in <see cref="LastWarnings"/>.</summary>
    public bool Strict { get; init; } = true;

    /// <summary>Warnings of the last run (ReLU modules that never ran).</summary>
    public IReadOnlyList<string> LastWarnings { get; private set; } = Array.Empty<string>();

    /// <summary>Names of the ReLU modules guided in the last run.</summary>
    public IReadOnlyList<string> GuidedRelus { get; private set; } = Array.Empty<string>();

    /// <summary>
    /// The attributions N×C×H×W as an image N×H×W×C (channels last, as the original returned it), scaled to [0, 1]
    /// per example by min-max.
    /// </summary>
    public static Tensor to_image(Tensor attributions)
    {
        if (attributions.dim() != 4) throw new ArgumentException($"to_image: expected N×C×H×W, got [{string.Join(",", attributions.shape)}].");
        using var scope = torch.NewDisposeScope();
        return LayerAttribution.normalize_per_example(attributions).permute(0, 2, 3, 1).contiguous().MoveToOuterDisposeScope();
    }

    public Tensor attribute(Tensor inputs, Target target)
    {
        Gradients.check_batch(inputs, nameof(GuidedBackprop));
        using var guard = new ModelGuard(model);
        var relus = model.named_modules().Where(m => m.module is ReLU).Select(m => (m.name, relu: (ReLU)m.module)).ToList();
        if (model is ReLU) relus.Add(("", (ReLU)(nn.Module)model));
        if (relus.Count == 0)
            throw new InvalidOperationException(
                $"GuidedBackprop: {model.GetType().Name} has no nn.ReLU module, so there is nothing to guide. " +
                "A functional relu inside a custom forward cannot be replaced from outside: use nn.ReLU modules.");

        var fired = new HashSet<string>();
        Tensor g;
        using (var hooks = new HookScope()) {
            foreach (var (name, relu) in relus) {
                var was = relu.inplace;
                if (was) { relu.inplace = false; hooks.Add(() => relu.inplace = was); }
                var key = name;
                hooks.Add(relu.register_forward_hook((m, input, result) => {
                    fired.Add(key);
                    return GuidedReluFunction.apply(input);
                }));
            }
            (g, var s) = Gradients.input_gradients(model, inputs, target);
            s.Dispose();
        }
        GuidedRelus = relus.Select(r => r.name).Where(fired.Contains).ToArray();
        var missed = relus.Select(r => r.name).Where(n => !fired.Contains(n)).ToArray();
        LastWarnings = missed.Select(n => $"ReLU module '{n}' never ran through call(): its gradient was not guided (the parent may call .forward() on it, or not use it).").ToArray();
        if (missed.Length > 0 && Strict) {
            g.Dispose();
            throw new InvalidOperationException("GuidedBackprop: " + string.Join(" ", LastWarnings) +
                " TorchSharp runs hooks only through call(). Set Strict = false to accept this.");
        }
        return g;
    }
}
