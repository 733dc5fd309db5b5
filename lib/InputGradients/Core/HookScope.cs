using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// Owns hook registrations (TorchSharp <c>HookRemover</c>s, which are not <see cref="IDisposable"/>) and other
/// undo actions; one <c>using</c> releases them all in reverse order, also after an exception.
/// </summary>
/// <example><code>
/// using (var hooks = new HookScope()) {
///     hooks.Add(layer.register_forward_hook((m, x, y) => { seen = y; return null; }));
///     model.call(x);
/// }   // hook removed here, even if call threw
/// </code></example>
public sealed class HookScope : IDisposable
{
    private readonly List<Action> undo = new();
    [ThreadStatic] private static int live;

    /// <summary>Hooks registered through any HookScope on this thread and not yet removed (a leak detector for tests).</summary>
    public static int LiveHooks => live;

    public void Add(nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover remover)
    {
        live++;
        undo.Add(() => { remover.remove(); live--; });
    }

    /// <summary>Registers any undo action (e.g. restoring a flag); run at disposal in reverse order.</summary>
    public void Add(Action restore) => undo.Add(restore);

    public void Dispose()
    {
        List<Exception>? errors = null;
        for (int i = undo.Count - 1; i >= 0; i--) {
            try { undo[i](); } catch (Exception e) { (errors ??= new()).Add(e); }
        }
        undo.Clear();
        if (errors is not null) throw new AggregateException("Some hooks could not be removed.", errors);
    }
}
