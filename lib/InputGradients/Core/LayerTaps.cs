using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// Runs a model and captures the outputs of named intermediate layers: through <see cref="ITappable"/> when the
/// model offers it, otherwise with forward hooks on submodules found by <c>named_modules()</c>.
/// </summary>
/// <remarks>
/// TorchSharp runs hooks only when a module is invoked with <c>call()</c>, never with <c>forward()</c>. A model whose
/// <c>forward</c> calls <c>child.forward(x)</c> therefore hides that child: <see cref="run"/> detects that the hook
/// never fired and throws an <see cref="InvalidOperationException"/> saying so, instead of returning nothing.
/// </remarks>
public static class LayerTaps
{
    /// <summary>The submodule called <paramref name="name"/> (a path such as <c>features.3</c>), with a clear error
    /// listing the available names when it does not exist.</summary>
    public static nn.Module<Tensor, Tensor> find(nn.Module model, string name)
    {
        nn.Module? found = null;
        var names = new List<string>();
        foreach (var (n, m) in model.named_modules()) {
            names.Add(n);
            if (n == name) found = m;
        }
        if (found is null) {
            var shown = string.Join(", ", names.Take(40)) + (names.Count > 40 ? ", …" : "");
            throw new ArgumentException($"The model has no submodule named '{name}'. Names from named_modules(): {shown}");
        }
        return found as nn.Module<Tensor, Tensor>
            ?? throw new ArgumentException($"Submodule '{name}' is a {found.GetType().Name}, not a Module<Tensor,Tensor>: it cannot be tapped.");
    }

    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="x"/> and returns its output (null if the model is
    /// <see cref="ITappable"/> and <paramref name="need_output"/> is false) and the output of each named layer.
    /// </summary>
    /// <param name="model">Any TorchSharp module; <see cref="ITappable"/> models are asked directly.</param>
    /// <param name="x">Input batch, N×C×H×W.</param>
    /// <param name="need_output">Whether the final output is needed.</param>
    /// <param name="layers">Layer names to capture.</param>
    public static (Tensor? output, Dictionary<string, Tensor> layers) run(nn.Module<Tensor, Tensor> model, Tensor x, bool need_output, params string[] layers)
    {
        layers = layers.Distinct().ToArray();
        if (layers.Length == 0) return (model.call(x), new());

        var captured = new Dictionary<string, Tensor>();
        using var hooks = new HookScope();

        if (model is ITappable tappable) {
            var known = tappable.TapNames;
            var tapNames = known is null ? layers : layers.Where(known.Contains).ToArray();
            var submodules = layers.Except(tapNames).ToArray();
            // Names that are not taps are submodules: hook them and take the taps from the same pass, which then runs
            // to the end (the output is always asked for) so that every hooked submodule runs.
            foreach (var name in submodules) capture(model, name, captured, hooks);
            var names = need_output || submodules.Length > 0 ? tapNames.Append(ITappable.Output).ToArray() : tapNames;
            var taps = tappable.forward_features(x, names);
            Tensor? output = null;
            if (names.Contains(ITappable.Output) && !taps.Remove(ITappable.Output, out output))
                throw new InvalidOperationException($"{model.GetType().Name}.forward_features did not return '{ITappable.Output}' (the model's output), which this target needs.");
            var absent = tapNames.Where(l => !taps.ContainsKey(l)).ToArray();
            if (absent.Length > 0)
                throw new InvalidOperationException($"{model.GetType().Name}.forward_features did not return {string.Join(", ", absent.Select(a => $"'{a}'"))}.");
            require_fired(model, submodules, captured);
            foreach (var (name, t) in captured) taps[name] = t;
            return (need_output ? output : null, taps);
        }

        foreach (var name in layers) capture(model, name, captured, hooks);
        var y = model.call(x);
        require_fired(model, layers, captured);
        return (y, captured);
    }

    /// <summary>Hooks the submodule <paramref name="name"/> so that its output lands in <paramref name="captured"/>.</summary>
    static void capture(nn.Module<Tensor, Tensor> model, string name, Dictionary<string, Tensor> captured, HookScope hooks)
    {
        var module = find(model, name);
        // A model whose forward opens its own dispose scope (FashionMnistNet does) would dispose the captured
        // tensor when that forward returns: the hook moves it to the scope of the caller of run().
        var home = torch.CurrentDisposeScope;
        hooks.Add(module.register_forward_hook((m, input, result) => {
            // Later in-place operations (ReLU(inplace)) would change the captured tensor; hand a clone downstream
            // and keep the original, as Captum does.
            result.DetachFromDisposeScope();
            home?.Attach(result);
            captured[name] = result;
            return result.clone();
        }));
    }

    static void require_fired(nn.Module<Tensor, Tensor> model, IEnumerable<string> layers, Dictionary<string, Tensor> captured)
    {
        var missing = layers.Where(l => !captured.ContainsKey(l)).ToArray();
        if (missing.Length > 0)
            throw new InvalidOperationException(
                $"The forward hook on layer(s) {string.Join(", ", missing.Select(m => $"'{m}'"))} of {model.GetType().Name} never fired. " +
                "TorchSharp runs hooks only through module.call(x): the model's forward probably calls .forward(x) on this layer " +
                "(or on a container holding it), or does not use it. Change that forward to call(x), or implement ITappable.");
    }
}