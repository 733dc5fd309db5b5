using InputGradients.Serialization;

namespace InputGradients.Models.TorchVision;

/// <summary>
/// torchvision's ImageNet models with their published weights, for users who have (or can download) the weight
/// files. Nothing is downloaded unless <c>download: true</c> is passed. Models come back frozen
/// (<see cref="TorchVisionModels.Freeze{T}"/>): eval mode, parameters without gradients. They expect torchvision's
/// preprocessing: RGB in [0, 1], normalised with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
/// </summary>
public static class Pretrained
{
    public static readonly float[] ImageNetMean = { 0.485f, 0.456f, 0.406f };
    public static readonly float[] ImageNetStd = { 0.229f, 0.224f, 0.225f };

    /// <summary>SqueezeNet 1.1 with torchvision's ImageNet weights.</summary>
    /// <param name="download">Fetch the file from torchvision's server if it is not cached.</param>
    /// <param name="weightsPath">A .pth or .safetensors file to load instead of the cached official one.</param>
    /// <param name="store">Where to look for and keep official files (default: torch hub's cache folder).</param>
    public static SqueezeNet SqueezeNet1_1(bool download = false, string? weightsPath = null, WeightsStore? store = null)
    {
        var path = weightsPath ?? (store ?? new WeightsStore()).Get(WeightsStore.SqueezeNet1_1, download);
        return Load(SqueezeNet.SqueezeNet1_1(), path);
    }

    /// <summary>torchvision's ResNet-18 with its ImageNet weights.</summary>
    /// <inheritdoc cref="SqueezeNet1_1" path="/param"/>
    public static ResNet ResNet18(bool download = false, string? weightsPath = null, WeightsStore? store = null)
    {
        var path = weightsPath ?? (store ?? new WeightsStore()).Get(WeightsStore.ResNet18, download);
        return Load(ResNet.ResNet18(), path);
    }

    private static T Load<T>(T model, string path) where T : TorchSharp.torch.nn.Module
    {
        try
        {
            Checkpoint.LoadStateDict(model, path);
            return TorchVisionModels.Freeze(model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
