using InputGradients.Attribution;
using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Layer;

/// <summary>
/// Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
/// ICCV 2017) on any layer with N×K×h×w output: CAM = ReLU(Σ_k w_k A_k) with w_k = spatial mean of ∂score/∂A_k.
/// Subclasses change only <see cref="get_cam_weights"/> (as in pytorch-grad-cam), e.g. <see cref="GradCamPlusPlus"/>.
/// </summary>
/// <example><code>
/// var gradcam = new GradCam(model, "features.12");
/// using var small = gradcam.attribute(x, Target.Classes(y));    // N×1×h×w, the layer's resolution
/// using var heat  = gradcam.cam(x, Target.Classes(y));          // N×1×H×W, bilinear to the input, in [0, 1]
/// </code></example>
public class GradCam(nn.Module<Tensor, Tensor> model, string layer) : BaseCam(model, layer)
{
    /// <summary>Channel weights N×K×1×1 from the activations A and gradients ∂score/∂A (both N×K×h×w).</summary>
    protected virtual Tensor get_cam_weights(Tensor activations, Tensor gradients) =>
        gradients.mean(new long[] { 2, 3 }, keepdim: true);

    protected sealed override Tensor get_cam_weights(Tensor inputs, Target target, Tensor activations, Tensor? gradients) =>
        get_cam_weights(activations, gradients!);
}

/// <summary>
/// Grad-CAM++ (Chattopadhyay et al., WACV 2018, eq. 19 with the exponential-score simplification used by
/// pytorch-grad-cam): α = g² / (2g² + Σ_ij A·g³), w_k = Σ_ij α·ReLU(g).
/// </summary>
public sealed class GradCamPlusPlus(nn.Module<Tensor, Tensor> model, string layer) : GradCam(model, layer)
{
    protected override Tensor get_cam_weights(Tensor activations, Tensor gradients)
    {
        var g2 = gradients.pow_scalar(2);
        var g3 = gradients.pow_scalar(3);
        var sum_a = activations.sum(new long[] { 2, 3 }, keepdim: true);
        var denom = g2.mul_scalar(2).add_tensor(sum_a * g3);
        denom = torch.where(denom.ne_scalar(0), denom, torch.ones_like(denom));
        var alpha = g2 / denom;
        return (alpha * nn.functional.relu(gradients)).sum(new long[] { 2, 3 }, keepdim: true);
    }
}

/// <summary>
/// Captum's LayerGradCam: Σ_k mean(∂score/∂A_k)·A_k at the layer's resolution (N×1×h×w), without ReLU unless
/// <see cref="GradCam.ReluAttributions"/> is set.
/// </summary>
public sealed class LayerGradCam : GradCam
{
    public LayerGradCam(nn.Module<Tensor, Tensor> model, string layer) : base(model, layer) { ReluAttributions = false; }
}

/// <summary>
/// Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation (N×C×H×W) times the Grad-CAM map upsampled
/// to the input and scaled to [0, 1] (N×1×H×W, broadcast over channels). Result: the inputs' shape.
/// </summary>
/// <example><code>
/// using var g = new GuidedGradCam(model, "features.12").attribute(x, Target.Classes(y));   // N×3×H×W
/// using var img = GuidedBackprop.to_image(g);                                            // N×H×W×3 in [0, 1]
/// </code></example>
public sealed class GuidedGradCam(nn.Module<Tensor, Tensor> model, string layer) : IAttribution
{
    public GradCam GradCam { get; init; } = new GradCam(model, layer);
    public GuidedBackprop GuidedBackprop { get; init; } = new GuidedBackprop(model);

    public Tensor attribute(Tensor inputs, Target target)
    {
        using var scope = torch.NewDisposeScope();
        var gb = GuidedBackprop.attribute(inputs, target);
        var cam = GradCam.cam(inputs, target);
        return (gb * cam).MoveToOuterDisposeScope();
    }
}
