using InputGradients.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace InputGradients.Models.TorchVision;

/// <summary>
/// torchvision's ResNet basic block (He et al. 2016): two 3x3 convolutions with batch norm, plus the input, or a
/// 1x1 strided projection of it (<c>downsample</c>) when the shape changes. One <c>relu</c> module used twice, as in torchvision.
/// </summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample; // null fields are not registered, so no keys appear for it

    public BasicBlock(long inplanes, long planes, long stride = 1, string name = "BasicBlock") : base(name)
    {
        conv1 = Conv2d(inplanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(planes);
        relu = ReLU();
        conv2 = Conv2d(planes, planes, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn2 = BatchNorm2d(planes);
        if (stride != 1 || inplanes != planes)
            downsample = Sequential(
                ("0", Conv2d(inplanes, planes, kernel_size: 1, stride: stride, bias: false)),
                ("1", BatchNorm2d(planes)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var outp = bn2.call(conv2.call(relu.call(bn1.call(conv1.call(x)))));
        var identity = downsample is null ? x : downsample.call(x);
        return relu.call(outp.add_tensor(identity));
    }
}

/// <summary>
/// torchvision's ResNet with exactly its module tree and parameter/buffer names (<c>conv1.weight</c>,
/// <c>bn1.running_mean</c>, <c>layer1.0.conv1.weight</c>, <c>layer2.0.downsample.0.weight</c>, <c>fc.weight</c>, ...).
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor>
{
    public readonly Conv2d conv1;
    public readonly BatchNorm2d bn1;
    public readonly ReLU relu;
    public readonly MaxPool2d maxpool;
    public readonly Sequential layer1, layer2, layer3, layer4;
    public readonly AdaptiveAvgPool2d avgpool;
    public readonly Linear fc;

    private ResNet(long[] blocks, long num_classes, string name) : base(name)
    {
        conv1 = Conv2d(3, 64, kernel_size: 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        relu = ReLU();
        maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        long inplanes = 64;
        Sequential MakeLayer(long planes, long count, long stride)
        {
            var list = new List<(string, Module<Tensor, Tensor>)>();
            for (int i = 0; i < count; i++)
            {
                list.Add((i.ToString(), new BasicBlock(inplanes, planes, i == 0 ? stride : 1)));
                inplanes = planes;
            }
            return Sequential(list);
        }
        layer1 = MakeLayer(64, blocks[0], 1);
        layer2 = MakeLayer(128, blocks[1], 2);
        layer3 = MakeLayer(256, blocks[2], 2);
        layer4 = MakeLayer(512, blocks[3], 2);
        avgpool = AdaptiveAvgPool2d(new long[] { 1, 1 });
        fc = Linear(512, num_classes);
        RegisterComponents();

        // torchvision's initialisation: Kaiming normal (fan_out, relu) for convolutions, BN weight 1 and bias 0.
        using (torch.no_grad())
        {
            foreach (var m in modules())
            {
                if (m is Conv2d c) init.kaiming_normal_(c.weight!, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                else if (m is BatchNorm2d bn) { bn.weight!.fill_scalar_(1); bn.bias!.fill_scalar_(0); }
            }
        }
    }

    /// <summary>ResNet-18: 2, 2, 2, 2 basic blocks, randomly initialised like torchvision.</summary>
    public static ResNet ResNet18(long num_classes = 1000) => new(new long[] { 2, 2, 2, 2 }, num_classes, "ResNet18");

    public override Tensor forward(Tensor x)
    {
        var h = maxpool.call(relu.call(bn1.call(conv1.call(x))));
        h = layer4.call(layer3.call(layer2.call(layer1.call(h))));
        return fc.call(torch.flatten(avgpool.call(h), 1));
    }
}

public static class TorchVisionModels
{
    /// <summary>Puts <paramref name="module"/> in eval mode (dropout off, batch norm uses running statistics)
    /// and turns off gradients for its parameters; gradients with respect to the input still flow.</summary>
    public static T Freeze<T>(T module) where T : Module
    {
        module.eval();
        foreach (var p in module.parameters()) p.requires_grad = false;
        return module;
    }
}
