using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// Remembers a model's training flag and its parameters' <c>requires_grad</c>, freezes the parameters for the run
/// (attributions only need gradients with respect to the input), and restores everything on disposal.
/// </summary>
public sealed class ModelGuard : IDisposable
{
    private readonly nn.Module model;
    private readonly bool training;
    private readonly List<(TorchSharp.Modules.Parameter p, bool requires_grad)> parameters;

    public ModelGuard(nn.Module model)
    {
        this.model = model;
        training = model.training;
        parameters = model.parameters().Select(p => (p, p.requires_grad)).ToList();
        foreach (var (p, _) in parameters) p.requires_grad = false;
    }

    public void Dispose()
    {
        foreach (var (p, rg) in parameters) p.requires_grad = rg;
        if (model.training != training) model.train(training);
    }
}
