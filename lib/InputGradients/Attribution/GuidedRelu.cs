using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace InputGradients.Attribution;

/// <summary>
/// ReLU whose backward passes a gradient only where both the forward input and the incoming gradient are positive
/// (Springenberg et al., "Striving for Simplicity: The All Convolutional Net", 2015), as a custom autograd function.
/// </summary>
public sealed class GuidedReluFunction : SingleTensorFunction<GuidedReluFunction>
{
    public override string Name => "GuidedReLU";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        ctx.save_for_backward(new List<Tensor> { x });
        return x.clamp_scalar(0, null);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        var x = ctx.get_saved_variables()[0];
        var g = grad_output;
        return new List<Tensor> { g.clamp_scalar(0, null) * x.gt_scalar(0).to_type(g.dtype) };
    }
}
