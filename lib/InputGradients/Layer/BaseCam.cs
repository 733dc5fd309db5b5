using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Layer;

/// <summary>
/// The class activation map family (pytorch-grad-cam's template): CAM = ReLU(Σ_k W_k ⊙ A_k) on a layer with
/// N×K×h×w output A. Variants override only <see cref="get_cam_weights(Tensor, Target, Tensor, Tensor?)"/>, which
/// returns per-channel weights (N×K×1×1: Grad-CAM, Score-CAM) or per-position weights (N×K×h×w: LayerCAM, HiResCAM).
/// </summary>
public abstract class BaseCam(nn.Module<Tensor, Tensor> model, string layer) : ILayerAttribution
{
    protected nn.Module<Tensor, Tensor> Model { get; } = model;
    public string Layer { get; } = layer;

    /// <summary>Apply ReLU to the weighted sum (the papers' CAMs; Captum's LayerGradCam defaults to false).</summary>
    public bool ReluAttributions { get; init; } = true;

    /// <summary>False for methods that need only activations (Score-CAM): no backward pass is run.</summary>
    protected virtual bool uses_gradients => true;

    /// <summary>Weights W (N×K×1×1 or N×K×h×w) from the activations A (N×K×h×w, detached) and, when
    /// <see cref="uses_gradients"/>, the gradients ∂score/∂A (else null).</summary>
    protected abstract Tensor get_cam_weights(Tensor inputs, Target target, Tensor activations, Tensor? gradients);

    /// <summary>The class activation map at the layer's resolution: N×1×h×w.</summary>
    public Tensor attribute(Tensor inputs, Target target)
    {
        Gradients.check_batch(inputs, GetType().Name);
        using var guard = new ModelGuard(Model);
        using var scope = torch.NewDisposeScope();
        Tensor a; Tensor? g = null;
        if (uses_gradients) {
            (a, g, _) = LayerGradients.compute(Model, inputs, Layer, target);
        } else {
            using var no = torch.no_grad();
            a = LayerTaps.run(Model, inputs, false, Layer).layers[Layer].detach();
        }
        LayerGradients.check_maps(a, Layer, GetType().Name);
        var w = get_cam_weights(inputs, target, a, g);
        var cam = (w * a).sum(1, keepdim: true);
        if (ReluAttributions) cam = nn.functional.relu(cam);
        return cam.MoveToOuterDisposeScope();
    }

    /// <summary>The map upsampled (bilinear) to the input's H×W and scaled to [0, 1] per example: N×1×H×W.</summary>
    public Tensor cam(Tensor inputs, Target target)
    {
        using var scope = torch.NewDisposeScope();
        var small = attribute(inputs, target);
        var big = LayerAttribution.interpolate(small, inputs.shape[^2], inputs.shape[^1]);
        return LayerAttribution.normalize_per_example(big).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// LayerCAM (Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization", IEEE TIP 2021):
/// each position weighted by its own positive gradient, CAM = ReLU(Σ_k ReLU(∂score/∂A_k) ⊙ A_k).
/// </summary>
public sealed class LayerCam(nn.Module<Tensor, Tensor> model, string layer) : BaseCam(model, layer)
{
    protected override Tensor get_cam_weights(Tensor inputs, Target target, Tensor activations, Tensor? gradients) =>
        nn.functional.relu(gradients!);
}

/// <summary>
/// HiResCAM (Draelos and Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations", 2020):
/// the gradient itself as the weight of each position, CAM = ReLU(Σ_k ∂score/∂A_k ⊙ A_k). For a model whose
/// score is linear in A after the layer (global pooling + linear head) it sums exactly to the score's A-dependent part.
/// </summary>
public sealed class HiResCam(nn.Module<Tensor, Tensor> model, string layer) : BaseCam(model, layer)
{
    protected override Tensor get_cam_weights(Tensor inputs, Target target, Tensor activations, Tensor? gradients) =>
        gradients!.clone();
}
