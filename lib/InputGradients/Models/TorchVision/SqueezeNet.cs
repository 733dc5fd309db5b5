using InputGradients.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace InputGradients.Models.TorchVision;

/// <summary>
/// torchvision's Fire module (Iandola et al. 2016, "SqueezeNet"): a 1x1 squeeze convolution, then 1x1 and 3x3
/// expand convolutions whose outputs are concatenated along channels. Field names equal torchvision's, so
/// state-dict keys match (<c>squeeze.weight</c>, <c>expand3x3.bias</c>, ...).
/// </summary>
public sealed class Fire : Module<Tensor, Tensor>
{
    private readonly Conv2d squeeze;
    private readonly ReLU squeeze_activation;
    private readonly Conv2d expand1x1;
    private readonly ReLU expand1x1_activation;
    private readonly Conv2d expand3x3;
    private readonly ReLU expand3x3_activation;

    public Fire(long inplanes, long squeeze_planes, long expand1x1_planes, long expand3x3_planes, string name = "Fire")
        : base(name)
    {
        squeeze = Conv2d(inplanes, squeeze_planes, kernel_size: 1);
        // torchvision uses inplace ReLUs; ours are not in place, so hooks may keep their inputs (same values).
        squeeze_activation = ReLU();
        expand1x1 = Conv2d(squeeze_planes, expand1x1_planes, kernel_size: 1);
        expand1x1_activation = ReLU();
        expand3x3 = Conv2d(squeeze_planes, expand3x3_planes, kernel_size: 3, padding: 1);
        expand3x3_activation = ReLU();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // Children are run with call() so that hooks registered on them fire.
        var s = squeeze_activation.call(squeeze.call(x));
        return torch.cat(new[] { expand1x1_activation.call(expand1x1.call(s)), expand3x3_activation.call(expand3x3.call(s)) }, 1);
    }
}

/// <summary>
/// torchvision's SqueezeNet 1.1 with exactly its module tree and parameter names
/// (<c>features.0.weight</c>, <c>features.3.squeeze.weight</c>, <c>classifier.1.weight</c>, ...), so torchvision
/// checkpoints load by name. <see cref="features"/> is public so that intermediate outputs can be tapped
/// (e.g. <c>features[12]</c>, the last Fire module, 512 channels).
/// </summary>
public sealed class SqueezeNet : Module<Tensor, Tensor>
{
    public readonly Sequential features;
    public readonly Sequential classifier;
    public long num_classes { get; }

    private SqueezeNet(long num_classes, double dropout, string name) : base(name)
    {
        this.num_classes = num_classes;
        features = Sequential(
            ("0", Conv2d(3, 64, kernel_size: 3, stride: 2)),
            ("1", ReLU()),
            ("2", MaxPool2d(kernel_size: 3, stride: 2, ceil_mode: true)),
            ("3", new Fire(64, 16, 64, 64)),
            ("4", new Fire(128, 16, 64, 64)),
            ("5", MaxPool2d(kernel_size: 3, stride: 2, ceil_mode: true)),
            ("6", new Fire(128, 32, 128, 128)),
            ("7", new Fire(256, 32, 128, 128)),
            ("8", MaxPool2d(kernel_size: 3, stride: 2, ceil_mode: true)),
            ("9", new Fire(256, 48, 192, 192)),
            ("10", new Fire(384, 48, 192, 192)),
            ("11", new Fire(384, 64, 256, 256)),
            ("12", new Fire(512, 64, 256, 256)));
        var final_conv = Conv2d(512, num_classes, kernel_size: 1);
        classifier = Sequential(
            ("0", Dropout(dropout)),
            ("1", final_conv),
            ("2", ReLU()),
            ("3", AdaptiveAvgPool2d(new long[] { 1, 1 })));
        RegisterComponents();

        // torchvision's initialisation, so an untrained model starts where torchvision's does.
        using (torch.no_grad())
        {
            foreach (var m in modules())
            {
                if (m is not Conv2d conv) continue;
                if (ReferenceEquals(conv, final_conv)) init.normal_(conv.weight!, 0.0, 0.01);
                else init.kaiming_uniform_(conv.weight!);
                if (conv.bias is not null) conv.bias.fill_scalar_(0);
            }
        }
    }

    /// <summary>SqueezeNet 1.1 (2.4x less computation than 1.0, same accuracy), randomly initialised like torchvision.</summary>
    public static SqueezeNet SqueezeNet1_1(long num_classes = 1000, double dropout = 0.5) =>
        new(num_classes, dropout, "SqueezeNet1_1");

    /// <summary>Logits, shape N x num_classes.</summary>
    public override Tensor forward(Tensor x) => torch.flatten(classifier.call(features.call(x)), 1);
}
