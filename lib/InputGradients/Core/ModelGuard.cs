using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// Remembers a model's training flag and its parameters' <c>requires_grad</c>, freezes the parameters for the run
/// (attributions only need gradients with respect to the input), and restores everything on disposal. A model in
/// training mode also gets its buffers (e.g. BatchNorm running statistics, which every forward in training mode
/// updates) copied and put back, so that the model is left exactly as found.
/// </summary>
public sealed class ModelGuard : IDisposable
{
    private readonly nn.Module model;
    private readonly bool training;
    private readonly List<(TorchSharp.Modules.Parameter p, bool requires_grad)> parameters;
    private readonly List<(Tensor buffer, Tensor copy)> buffers = new();

    public ModelGuard(nn.Module model)
    {
        this.model = model;
        training = model.training;
        parameters = model.parameters().Select(p => (p, p.requires_grad)).ToList();
        foreach (var (p, _) in parameters) p.requires_grad = false;
        if (training)
            using (torch.no_grad())
                foreach (var b in model.buffers()) {
                    var copy = b.clone();
                    copy.DetachFromDisposeScope();
                    buffers.Add((b, copy));
                }
    }

    public void Dispose()
    {
        foreach (var (p, rg) in parameters) p.requires_grad = rg;
        using (torch.no_grad())
            foreach (var (b, copy) in buffers) { b.copy_(copy); copy.Dispose(); }
        buffers.Clear();
        if (model.training != training) model.train(training);
    }
}
