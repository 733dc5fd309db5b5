using InputGradients.Core;
using InputGradients.Models.Onnx;
using InputGradients.Models.Onnx.Proto;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Models.ImageNet;

/// <summary>
/// The ImageNet-trained ResNet-18 backbone of Microsoft.ML.DnnImageFeaturizer.ResNet18 (a CNTK 2.6
/// export, ONNX opset 8; no classifier head), rebuilt in TorchSharp from the graph's structure and
/// weights: <c>stem</c> (7x7/2 conv, BN, ReLU, 3x3/2 max pool), <c>layer1</c>..<c>layer4</c> (2, 2, 2
/// and 3 basic blocks; 1x1/2 projection shortcuts), <c>avgpool</c>. Eval mode, parameters frozen.
/// <para>
/// Inputs are <see cref="Preprocess"/>ed images: BGR on a 0-255 scale minus channel means.
/// <see cref="forward"/> returns the pooled features N x 512; <see cref="forward_features"/> returns
/// any named intermediate outputs (see <see cref="TapNames"/>) from one pass, without hooks.
/// </para>
/// <para>
/// Padding: the export has explicit asymmetric pads ([3,2] on the stem conv, [1,0] on the max pool and
/// on the stride-2 3x3 convs), reproduced exactly: since each far-edge pad is at most the near-edge pad,
/// the op pads symmetrically by the near-edge pad (no padded copy) and its output is cut to the exported
/// size (<c>F.pad</c> is the fallback for other pads). Wherever the exported graph runs
/// (stage inputs of even size, e.g. inputs of 32k..32k+3 pixels) this module computes what it computes.
/// At an odd stage input the graph cannot add its shortcut (its 1x1/2 projection gives ceil(n/2), its
/// 3x3/2 conv floor(n/2)); there the 3x3/2 conv is padded one more pixel at the far edge so both give
/// ceil(n/2), as CNTK's own "same" padding does. So the module accepts any size of at least 32x32.
/// <c>avgpool</c> averages layer4 over all positions; the graph's 7x7 stride-1 pool is the same at a
/// 224x224 input (layer4 7x7), while at other sizes the graph returns a map of 7x7-window averages.
/// </para>
/// </summary>
public sealed class ResNet18Backbone : nn.Module<Tensor, Tensor>, ITappable
{
    readonly Stem stem;
    readonly Stage layer1, layer2, layer3, layer4;
    readonly Tensor _mean_bgr;   // [1,3,1,1], channel means of the preprocessing graph's mean image
    readonly long[] _to_bgr;      // input channel for each output channel of Preprocess
    readonly string[] _tapNames;

    /// <summary>
    /// How much larger this backbone's inputs (0-255, mean subtracted) are than the unit-variance inputs the original
    /// assignment's settings were chosen for (255 x an ImageNet std of about 0.226, rounded): the factor to give
    /// <c>ClassVisualizationOptions.for_input_scale</c> or to multiply a step size by.
    /// </summary>
    public const double InputScale = 58.0;

    /// <summary>How a 0-1 RGB image becomes this backbone's input and back (0-255, BGR, minus <see cref="MeanBgr"/>):
    /// valid pixel range, display, and <see cref="InputSpace.UnitScale"/> (57.6, the <see cref="InputScale"/> of 58).</summary>
    public InputSpace InputSpace { get; }

    /// <summary>Channel means subtracted by <see cref="Preprocess"/>, in B, G, R order.</summary>
    public float[] MeanBgr { get; }

    /// <summary>Blocks per stage, read from the graph (2, 2, 2, 3 for this model).</summary>
    public IReadOnlyList<int> BlocksPerStage { get; }

    /// <summary>Channels of each stage's output (64, 128, 256, 512).</summary>
    public IReadOnlyList<int> StageChannels { get; }

    /// <summary>
    /// Names accepted by <see cref="forward_features"/>, in forward order: <c>stem.pre_relu</c>,
    /// <c>stem.relu</c>, <c>stem</c> (after the max pool), for each block <c>layerK.i.relu1</c> (inside the
    /// block), <c>layerK.i.pre_relu</c> (residual sum before the ReLU) and <c>layerK.i</c> (block output),
    /// <c>layerK</c> and <c>layerK.pre_relu</c> (the stage's last block), and <c>avgpool</c> (N x 512 x 1 x 1).
    /// </summary>
    public IReadOnlyList<string> TapNames => _tapNames;

    ResNet18Backbone(OnnxModel model, OnnxModel prep) : base(nameof(ResNet18Backbone))
    {
        model.RequireOps("Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool");
        if (model.DefaultOpsetVersion is < 7 or > 21)
            throw new OnnxFormatException($"{model.Source}: opset {model.DefaultOpsetVersion}; this reader was written for the opset-8 CNTK export.");
        var inputs = model.RealInputs;
        if (inputs.Count != 1)
            throw new OnnxFormatException($"{model.Source}: expected one image input, found {inputs.Count} ({string.Join(", ", inputs.Select(i => OnnxModel.Name(i.Name)))}).");
        var g = new GraphWalker(model);

        // Stem: Conv -> BatchNormalization -> Relu -> MaxPool.
        string v = inputs[0].Name;
        var conv = g.Single(v, "Conv");
        var bn = g.Single(model.Output(conv, 0), "BatchNormalization");
        var relu = g.Single(model.Output(bn, 0), "Relu");
        var pool = g.Single(model.Output(relu, 0), "MaxPool");
        stem = new Stem(g.Conv(conv), g.BatchNorm(bn), PoolSpec.From(model, pool));
        v = model.Output(pool, 0);

        // Residual blocks until the average pool; a projection shortcut starts a new stage. The graph has no cycle
        // (OnnxModel checks), so each block starts at a new value; the count is bounded all the same.
        var stages = new List<List<BasicBlock>>();
        for (int blocks = 0; ; blocks++)
        {
            var consumers = model.Consumers(v);
            if (consumers.Count == 1 && consumers[0].OpType == "AveragePool") { v = model.Output(consumers[0], 0); break; }
            if (blocks > model.Graph.Node.Count)
                throw new OnnxFormatException($"{model.Source}: the residual blocks never reach an average pool.");
            var block = g.Block(v, out var output);
            if (block.downsample is not null || stages.Count == 0) stages.Add(new List<BasicBlock>());
            stages[^1].Add(block);
            v = output;
        }
        if (stages.Count != 4)
            throw new OnnxFormatException($"{model.Source}: found {stages.Count} ResNet stages, expected 4.");
        if (model.Graph.Output.Count != 1 || model.Graph.Output[0].Name != v)
            throw new OnnxFormatException($"{model.Source}: the graph's output is not the average pool after the last stage.");
        layer1 = new Stage(stages[0]); layer2 = new Stage(stages[1]);
        layer3 = new Stage(stages[2]); layer4 = new Stage(stages[3]);
        BlocksPerStage = stages.Select(s => s.Count).ToArray();
        StageChannels = stages.Select(s => (int)s[^1].conv2.weight!.shape[0]).ToArray();

        (MeanBgr, _to_bgr) = ReadPreprocessing(prep);
        InputSpace = new InputSpace("0-255 BGR minus mean", 255, MeanBgr.Select(m => (double)m).ToArray(), new double[] { 1, 1, 1 },
            _to_bgr.Select(i => (int)i).ToArray());
        _mean_bgr = torch.tensor(MeanBgr, new long[] { 1, 3, 1, 1 });

        var names = new List<string> { "stem.pre_relu", "stem.relu", "stem" };
        var layers = new[] { layer1, layer2, layer3, layer4 };
        for (int k = 0; k < 4; k++)
        {
            for (int i = 0; i < layers[k].Blocks.Count; i++)
                names.AddRange(new[] { $"layer{k + 1}.{i}.relu1", $"layer{k + 1}.{i}.pre_relu", $"layer{k + 1}.{i}" });
            names.AddRange(new[] { $"layer{k + 1}.pre_relu", $"layer{k + 1}" });
        }
        names.Add("avgpool");
        _tapNames = names.ToArray();

        RegisterComponents();
        eval();
        foreach (var p in parameters()) p.requires_grad_(false);
    }

    /// <summary>
    /// Loads the backbone from the two ONNX files (see <see cref="ResNet18Files"/> for where they are
    /// looked for), or from <paramref name="directory"/> holding both.
    /// </summary>
    public static ResNet18Backbone Load(string? directory = null, Core.LoadLimits? limits = null) =>
        Load(ResNet18Files.ModelPath(directory), ResNet18Files.PreprocessPath(directory), limits);

    /// <summary>Loads the backbone from explicit paths of the model and preprocessing graphs; every size in them is
    /// checked against <paramref name="limits"/> (default <see cref="Core.LoadLimits.Default"/>) before allocating.</summary>
    public static ResNet18Backbone Load(string modelPath, string preprocessPath, Core.LoadLimits? limits = null)
        => new(OnnxModel.Load(modelPath, limits), OnnxModel.Load(preprocessPath, limits));

    /// <summary>Pooled features, N x 512, of a preprocessed batch N x 3 x H x W.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var pooled = forward_features(x, "avgpool")["avgpool"];
        return pooled.flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The named intermediate outputs (see <see cref="TapNames"/>) of one forward pass of a preprocessed
    /// batch. The pass stops after the last requested output. Tensors stay in the autograd graph, so
    /// gradients of any of them with respect to <paramref name="x"/> (or to another output) can be taken.
    /// </summary>
    public Dictionary<string, Tensor> forward_features(Tensor x, params string[] names)
    {
        if (names.Length == 0) throw new ArgumentException("Name at least one output; see TapNames.", nameof(names));
        // ITappable.Output ("output") is the model's final output: the pooled features, N x 512.
        if (names.Contains(ITappable.Output))
        {
            var rest = names.Where(n => n != ITappable.Output).Append("avgpool").Distinct().ToArray();
            var taps = forward_features(x, rest);
            var output = taps["avgpool"].flatten(1);
            if (!names.Contains("avgpool")) taps.Remove("avgpool");
            taps[ITappable.Output] = output;
            return taps;
        }
        var wanted = new HashSet<string>(names, StringComparer.Ordinal);
        var unknown = wanted.Where(n => Array.IndexOf(_tapNames, n) < 0).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown output name(s) {string.Join(", ", unknown)}; valid names: {string.Join(", ", _tapNames)}.", nameof(names));
        CheckInput(x);
        int last = wanted.Max(n => Array.IndexOf(_tapNames, n));
        string lastName = _tapNames[last];

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = torch.NewDisposeScope();
        bool channelsLast = UsesChannelsLast(x);
        bool finished = false;
        // Records the output under each wanted one of the names. The pass goes on from the very tensor it returns, so
        // later outputs depend on the tap as autograd sees it (Grad-CAM differentiates layer4 by layer3's tap); and it
        // is returned in the layout the pass computed it in, as PyTorch hands out a channels_last model's activations
        // (an NCHW copy and back cost two copies forward and two backward per tap: 5 % of a style-transfer step).
        Tensor Tap(Tensor t, params string[] names)
        {
            finished = names.Contains(lastName);
            foreach (var n in names.Where(wanted.Contains)) result[n] = t;
            return t;
        }

        var h = Tap(stem.conv_bn(channelsLast ? Runtime.SystemOneDnn.ChannelsLast(x) : x), "stem.pre_relu");
        if (finished) goto done;
        h = Tap(stem.relu.call(h), "stem.relu");
        if (finished) goto done;
        h = Tap(stem.pool(h), "stem");
        if (finished) goto done;

        var layers = new[] { layer1, layer2, layer3, layer4 };
        for (int k = 0; k < 4; k++)
        {
            var blocks = layers[k].Blocks;
            for (int i = 0; i < blocks.Count; i++)
            {
                string prefix = $"layer{k + 1}.{i}";
                bool lastBlock = i == blocks.Count - 1;   // its outputs are also the stage's: layerK.pre_relu, layerK
                var b = blocks[i];
                var r = Tap(b.relu1(h), prefix + ".relu1");
                if (finished) goto done;
                var pre = Tap(b.pre_relu(h, r), lastBlock ? [prefix + ".pre_relu", $"layer{k + 1}.pre_relu"] : [prefix + ".pre_relu"]);
                if (finished) goto done;
                h = Tap(b.relu_b.call(pre), lastBlock ? [prefix, $"layer{k + 1}"] : [prefix]);
                if (finished) goto done;
            }
        }
        Tap(h.mean(new long[] { 2, 3 }, keepdim: true), "avgpool");

    done:
        foreach (var t in result.Values.Distinct()) t.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// Whether a pass keeps its activations channels-last (NHWC) inside: on the system oneDNN route, whose NHWC
    /// kernels then take them as they are; in NCHW each convolution reorders its input and output to oneDNN's blocked
    /// layout and back, forward and backward (a fifth of the route's time, measured with ONEDNN_VERBOSE). ReLU, the
    /// residual sums and max pooling keep the layout in libtorch. Not while any module has a hook, so hooks see the
    /// tensors they always saw. Taps come back as the pass computed them: channels-last strides on this route, the same
    /// shape and values as in NCHW (<c>reshape</c>, not <c>view</c>, flattens them; <c>contiguous()</c> gives NCHW).
    /// </summary>
    bool UsesChannelsLast(Tensor x) =>
        ChannelsLastActivations && Runtime.SystemOneDnn.Enabled && x.dtype == ScalarType.Float32 && x.device_type == DeviceType.CPU
        && !Core.ModuleHooks.HasAny(this) && !modules().Any(Core.ModuleHooks.HasAny);

    /// <summary>Keep activations channels-last inside a pass where the route allows it (see <c>UsesChannelsLast</c>); for tests and the bench.</summary>
    public static bool ChannelsLastActivations { get; set; } = true;

    void CheckInput(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != 3)
            throw new ArgumentException($"ResNet18Backbone expects a batch N x 3 x H x W (preprocessed BGR), got [{string.Join(", ", x.shape)}].", nameof(x));
        if (x.shape[2] < 32 || x.shape[3] < 32)
            throw new ArgumentException($"ResNet18Backbone needs images of at least 32 x 32 pixels (five halvings), got {x.shape[2]} x {x.shape[3]}.", nameof(x));
        // float32 as loaded; float64 after .to(float64), which tests use as the reference for float32 kernels.
        var expected = parameters().First().dtype;
        if (x.dtype != expected)
            throw new ArgumentException($"ResNet18Backbone expects {expected} input (the type of its parameters), got {x.dtype}.", nameof(x));
    }

    /// <summary>
    /// RGB images N x 3 x H x W on a 0-255 scale -> the backbone's input: BGR minus the channel means of
    /// the preprocessing graph's mean image (which is 224x224; its channel means work at any size).
    /// </summary>
    public Tensor Preprocess(Tensor rgb0to255)
    {
        if (rgb0to255.dim() != 4 || rgb0to255.shape[1] != 3)
            throw new ArgumentException($"Preprocess expects RGB images N x 3 x H x W on a 0-255 scale, got [{string.Join(", ", rgb0to255.shape)}].", nameof(rgb0to255));
        using var scope = torch.NewDisposeScope();
        using var index = torch.tensor(_to_bgr, device: rgb0to255.device);
        var bgr = rgb0to255.to_type(ScalarType.Float32).index_select(1, index);
        return (bgr - _mean_bgr.to(rgb0to255.device)).MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of <see cref="Preprocess"/>: backbone input -> RGB on 0-255 (not clamped).</summary>
    public Tensor Deprocess(Tensor bgrCentered)
    {
        if (bgrCentered.dim() != 4 || bgrCentered.shape[1] != 3)
            throw new ArgumentException($"Deprocess expects N x 3 x H x W, got [{string.Join(", ", bgrCentered.shape)}].", nameof(bgrCentered));
        using var scope = torch.NewDisposeScope();
        using var index = torch.tensor(RgbIndex(), device: bgrCentered.device);
        return bgrCentered.add_tensor(_mean_bgr.to(bgrCentered.device)).index_select(1, index).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A gradient with respect to the backbone's input (N x 3 x H x W, BGR order) -> the gradient with respect to the RGB
    /// image, per RGB channel. <see cref="Preprocess"/> only reorders and shifts the channels, so this is the same reordering
    /// as <see cref="Deprocess"/> without the shift; showing the raw input gradient as a picture swaps red and blue.
    /// </summary>
    public Tensor GradientToRgb(Tensor inputGradient)
    {
        if (inputGradient.dim() != 4 || inputGradient.shape[1] != 3)
            throw new ArgumentException($"GradientToRgb expects N x 3 x H x W, got [{string.Join(", ", inputGradient.shape)}].", nameof(inputGradient));
        using var index = torch.tensor(RgbIndex(), device: inputGradient.device);
        return inputGradient.index_select(1, index);
    }

    /// <summary>For each RGB channel, the backbone input channel that holds it.</summary>
    long[] RgbIndex()
    {
        var rgbIndex = new long[3];
        for (int c = 0; c < 3; c++) rgbIndex[_to_bgr[c]] = c;
        return rgbIndex;
    }

    /// <summary>Reads Split(RGB) -> Concat(B,G,R) -> Sub(mean image): the channel order and the channel means.</summary>
    static (float[] mean, long[] order) ReadPreprocessing(OnnxModel prep)
    {
        prep.RequireOps("Split", "Concat", "Sub");
        var nodes = prep.Graph.Node;
        if (nodes.Count != 3 || nodes[0].OpType != "Split" || nodes[1].OpType != "Concat" || nodes[2].OpType != "Sub")
            throw new OnnxFormatException($"{prep.Source}: expected Split -> Concat -> Sub, found {string.Join(" -> ", nodes.Select(n => OnnxModel.Name(n.OpType)))}.");
        var split = nodes[0]; var concat = nodes[1]; var sub = nodes[2];
        if (split.Int("axis", 0) != 1 || concat.Int("axis", -1) != 1 || split.Output.Count != 3 || concat.Input.Count != 3)
            throw new OnnxFormatException($"{prep.Source}: the Split/Concat do not reorder the 3 channels along axis 1.");
        var order = concat.Input.Select(n => (long)split.Output.IndexOf(n)).ToArray();
        if (order.Any(i => i < 0) || order.Distinct().Count() != 3)
            throw new OnnxFormatException($"{prep.Source}: the Concat does not take the Split's three channels.");
        string meanName = prep.Input(sub, 1);
        if (prep.Input(sub, 0) != prep.Output(concat, 0) || !prep.HasInitializer(meanName))
            throw new OnnxFormatException($"{prep.Source}: expected Sub(reordered image, mean image initializer).");
        var shape = prep.Shape(meanName);
        if (shape.Length != 4 || shape[0] != 1 || shape[1] != 3 || shape[2] <= 0 || shape[3] <= 0)
            throw new OnnxFormatException($"{prep.Source}: mean image '{OnnxModel.Name(meanName)}' has shape [{string.Join(", ", shape)}], expected [1, 3, H, W] with H, W > 0.");
        // Checks the shape against the data (and the size limit) before the sums below trust it.
        var data = prep.FloatData(meanName);
        long plane = shape[2] * shape[3];
        var mean = new float[3];
        for (int c = 0; c < 3; c++)
        {
            double s = 0;
            for (long j = 0; j < plane; j++) s += data[c * plane + j];
            mean[c] = (float)(s / plane);
        }
        if (!mean.All(float.IsFinite))
            throw new OnnxFormatException($"{prep.Source}: mean image '{OnnxModel.Name(meanName)}' has channel means [{string.Join(", ", mean)}]; they must be finite.");
        return (mean, order);
    }

    /// <summary>Kernel, stride and explicit begin/end pads of a Conv or pool node (pads as ONNX: [h0, w0, h1, w1]).</summary>
    internal sealed record PoolSpec(long[] Kernel, long[] Stride, long[] Pads)
    {
        public static PoolSpec From(OnnxModel model, NodeProto node)
        {
            var autoPad = node.String("auto_pad", "NOTSET");
            if (autoPad != "NOTSET")
                throw new OnnxFormatException($"{model.Source}: node '{OnnxModel.Name(node.Name)}' ({OnnxModel.Name(node.OpType)}) uses auto_pad={OnnxModel.Name(autoPad)}; only explicit pads are supported.");
            var k = node.Ints("kernel_shape", model.HasInitializer(node.Input.ElementAtOrDefault(1) ?? "") && model.Shape(node.Input[1]).Length > 2
                ? model.Shape(node.Input[1])[2..]
                : node.Attribute("kernel_shape") is null ? throw new OnnxFormatException($"{model.Source}: node '{OnnxModel.Name(node.Name)}' ({OnnxModel.Name(node.OpType)}) has no kernel_shape.") : null);
            var s = node.Ints("strides", new long[] { 1, 1 });
            var p = node.Ints("pads", new long[] { 0, 0, 0, 0 });
            var d = node.Ints("dilations", new long[] { 1, 1 });
            // Sizes beyond MaxWindow are no image network's and would overflow libtorch's size arithmetic.
            if (k.Length != 2 || s.Length != 2 || p.Length != 4 || d.Any(x => x != 1)
                || k.Any(x => x is < 1 or > MaxWindow) || s.Any(x => x is < 1 or > MaxWindow) || p.Any(x => x is < 0 or > MaxWindow))
                throw new OnnxFormatException($"{model.Source}: node '{OnnxModel.Name(node.Name)}' ({OnnxModel.Name(node.OpType)}) is not a plain 2-D window (kernel [{string.Join(",", k)}], strides [{string.Join(",", s)}], pads [{string.Join(",", p)}], dilations [{string.Join(",", d)}]).");
            return new PoolSpec(k, s, p);
        }

        public bool Symmetric => Pads[0] == Pads[2] && Pads[1] == Pads[3];

        /// <summary>Largest kernel, stride or pad accepted.</summary>
        public const long MaxWindow = 1024;
    }

    /// <summary>
    /// Output size along one axis with begin/end pads; with <paramref name="ceil"/>, at least ceil(n/stride)
    /// (the far edge padded as needed; see the class summary).
    /// </summary>
    static long OutSize(long n, long k, long s, long begin, long end, bool ceil)
    {
        long o = (n + begin + end - k) / s + 1;
        return ceil ? Math.Max(o, (n + s - 1) / s) : o;
    }

    /// <summary>
    /// Asymmetric pads [b, e] with e &lt;= b give the same windows as symmetric padding b, minus the last
    /// one when that would fit only thanks to the extra far-edge padding. So: pad symmetrically inside the
    /// op (no padded copy of the input) and cut the output to the exported size.
    /// </summary>
    static Tensor CutTo(Tensor y, long h, long w)
    {
        if (y.shape[2] == h && y.shape[3] == w) return y;
        return y[.., .., ..(int)h, ..(int)w];
    }

    /// <summary>Fold batch norms into the convolutions in eval mode (see <c>PaddedConv.with_batch_norm</c>); off only
    /// to compare the two (tests, the bench). Process-wide.</summary>
    public static bool FoldBatchNorm { get; set; } = true;

    /// <summary>Conv without bias with the export's explicit (possibly asymmetric) zero padding.</summary>
    internal sealed class PaddedConv : nn.Module<Tensor, Tensor>
    {
        public readonly Conv2d conv;
        readonly PoolSpec _spec;
        readonly bool _matchCeil, _builtIn;

        /// <param name="matchCeil">Pad the far edge so the output has ceil(n/stride) positions (see the class summary).</param>
        public PaddedConv(Tensor weight, PoolSpec spec, bool matchCeil) : base(nameof(PaddedConv))
        {
            _spec = spec;
            _matchCeil = matchCeil;
            var p = spec.Pads;
            // When every far-edge pad is at most the near-edge pad (all pads in this export), the convolution
            // pads symmetrically by the near-edge pad and the output is cut; otherwise F.pad first.
            _builtIn = p[2] <= p[0] && p[3] <= p[1];
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], (weight.shape[2], weight.shape[3]),
                stride: (spec.Stride[0], spec.Stride[1]),
                padding: _builtIn ? (p[0], p[1]) : (0, 0), bias: false);
            using (torch.no_grad()) conv.weight!.copy_(weight);
            RegisterComponents();
        }

        public Parameter weight => conv.weight!;

        public override Tensor forward(Tensor x) => Convolve(x, conv.weight!, null);

        /// <summary>
        /// This convolution followed by <paramref name="bn"/>. In eval mode (always, for these workloads) the batch
        /// norm is folded into the convolution: weight * gamma / sqrt(var + eps) and bias beta - mean * gamma /
        /// sqrt(var + eps), which saves the batch norm's pass over the activations forward and backward. With frozen
        /// parameters (every workload here) the folded pair is computed once and kept while each source is unchanged
        /// (Runtime/DerivedTensors: same storage, same version counter, so a changed or randomised parameter is always
        /// seen); while a parameter wants a gradient it is recomputed on every call. In training mode, or while a hook
        /// listens to either module, the two run as written.
        /// </summary>
        public Tensor with_batch_norm(Tensor x, BatchNorm2d bn)
        {
            // Unfolded where the two modules must run as written: training, or a hook listening to either.
            if (bn.training || !FoldBatchNorm || Core.ModuleHooks.HasAny(this) || Core.ModuleHooks.HasAny(conv) || Core.ModuleHooks.HasAny(bn))
                return bn.call(call(x));
            bool parameterGradient = torch.is_grad_enabled() && (conv.weight!.requires_grad || bn.weight!.requires_grad || bn.bias!.requires_grad);
            if (!parameterGradient && Runtime.DerivedTensors.Available)
            {
                // Frozen (every workload here): fold once, again only when a parameter, a statistic or eps changed.
                if (bn.eps != _foldedEps) { _folded?.Dispose(); _folded = null; _foldedEps = bn.eps; }
                var v = Runtime.DerivedTensors.GetOrCompute(ref _folded, [conv.weight!, bn.weight!, bn.bias!, bn.running_mean!, bn.running_var!],
                    () => { var (w, b) = Fold(bn); return [w, b]; });
                return Convolve(x, v[0], v[1]);
            }
            using var scope = torch.NewDisposeScope();
            var (folded, bias) = Fold(bn);
            return Convolve(x, folded, bias).MoveToOuterDisposeScope();
        }

        Runtime.DerivedTensors? _folded;
        double _foldedEps = double.NaN;

        (Tensor Weight, Tensor Bias) Fold(BatchNorm2d bn)
        {
            var scale = bn.weight! / bn.running_var!.add_scalar(bn.eps).sqrt();
            return (conv.weight! * scale.view(-1, 1, 1, 1), bn.bias! - bn.running_mean! * scale);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) { _folded?.Dispose(); _folded = null; }
            base.Dispose(disposing);
        }

        Tensor Convolve(Tensor x, Tensor weight, Tensor? bias)
        {
            var (k, s, p) = (_spec.Kernel, _spec.Stride, _spec.Pads);
            long h = OutSize(x.shape[2], k[0], s[0], p[0], p[2], _matchCeil);
            long w = OutSize(x.shape[3], k[1], s[1], p[1], p[3], _matchCeil);
            // Where libtorch's oneDNN is off, the system's oneDNN 2.x takes every convolution once the route checked
            // it (Runtime/SystemOneDnn); Runtime/Kn2Row (opt-in) takes stride 1 and the stem (stride 2 over 3
            // channels). Other strided convolutions stay with libtorch.
            long bottom = (h - 1) * s[0] + k[0] - x.shape[2] - p[0], right = (w - 1) * s[1] + k[1] - x.shape[3] - p[1];
            bool square = s[0] == s[1] && bottom >= 0 && right >= 0;
            // A negative trailing padding above -stride (the 1x1 stride-2 shortcuts: the last row and column are read
            // by no output) is the same convolution as padding 0, whose output size rounds down to the same h x w.
            bool trailingSlack = s[0] == s[1] && bottom > -s[0] && right > -s[1];
            if (trailingSlack && Runtime.SystemOneDnn.Enabled)
                return Runtime.SystemOneDnn.conv2d(x, weight, bias, (p[0], Math.Max(bottom, 0), p[1], Math.Max(right, 0)), s[0]);
            bool shape = square && (s[0] == 1 || x.shape[1] * s[0] * s[1] <= 16);
            if (shape && Runtime.Kn2Row.Enabled)
                return Runtime.Kn2Row.conv2d(x, weight, bias, (p[0], bottom, p[1], right), s[0]);
            if (_builtIn)
            {
                var y = F.conv2d(x, weight, bias, strides: new[] { s[0], s[1] }, padding: new[] { p[0], p[1] });
                if (y.shape[2] < h || y.shape[3] < w) { y.Dispose(); return Padded(x, h, w, weight, bias); }
                return CutTo(y, h, w);
            }
            return Padded(x, h, w, weight, bias);
        }

        // General path: explicit zero padding to exactly the output size h x w.
        Tensor Padded(Tensor x, long h, long w, Tensor weight, Tensor? bias)
        {
            var (k, s, p) = (_spec.Kernel, _spec.Stride, _spec.Pads);
            long bottom = (h - 1) * s[0] + k[0] - x.shape[2] - p[0];
            long right = (w - 1) * s[1] + k[1] - x.shape[3] - p[1];
            using var padded = F.pad(x, new[] { p[1], right, p[0], bottom });
            return F.conv2d(padded, weight, bias, strides: new[] { s[0], s[1] });
        }
    }

    sealed class Stem : nn.Module<Tensor, Tensor>
    {
        readonly PaddedConv conv;
        readonly BatchNorm2d bn;
        // A module, not F.relu, so guided backprop (which hooks ReLU modules) reaches it.
        public readonly ReLU relu = nn.ReLU();
        readonly PoolSpec _pool;

        public Stem(PaddedConv conv, BatchNorm2d bn, PoolSpec pool) : base(nameof(Stem))
        {
            this.conv = conv; this.bn = bn; _pool = pool;
            var p = pool.Pads;
            if (p[2] > p[0] || p[3] > p[1] || 2 * p[0] > pool.Kernel[0] || 2 * p[1] > pool.Kernel[1])
                throw new OnnxFormatException($"max pool pads [{string.Join(",", p)}] with kernel [{string.Join(",", pool.Kernel)}] are not supported.");
            RegisterComponents();
        }

        public Tensor conv_bn(Tensor x) => conv.with_batch_norm(x, bn);

        /// <summary>Max pool with the export's pads (ONNX pads a max pool with -inf, as PyTorch does).</summary>
        public Tensor pool(Tensor x)
        {
            var (k, s, p) = (_pool.Kernel, _pool.Stride, _pool.Pads);
            var y = F.max_pool2d(x, new[] { k[0], k[1] }, new[] { s[0], s[1] }, new[] { p[0], p[1] });
            return CutTo(y, OutSize(x.shape[2], k[0], s[0], p[0], p[2], false), OutSize(x.shape[3], k[1], s[1], p[1], p[3], false));
        }

        public override Tensor forward(Tensor x) => pool(relu.call(conv_bn(x)));
    }

    internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
    {
        public readonly PaddedConv conv1;
        public readonly BatchNorm2d bn1;
        public readonly PaddedConv conv2;
        public readonly BatchNorm2d bn2;
        public readonly Sequential? downsample;
        // ReLU modules, not F.relu, so guided backprop (which hooks ReLU modules) reaches them.
        public readonly ReLU relu_a = nn.ReLU();
        public readonly ReLU relu_b = nn.ReLU();

        public BasicBlock(PaddedConv conv1, BatchNorm2d bn1, PaddedConv conv2, BatchNorm2d bn2, Sequential? downsample)
            : base(nameof(BasicBlock))
        {
            this.conv1 = conv1; this.bn1 = bn1; this.conv2 = conv2; this.bn2 = bn2; this.downsample = downsample;
            if (downsample?.children().ToArray() is [PaddedConv conv, BatchNorm2d bn]) _projection = (conv, bn);
            RegisterComponents();
        }

        public Tensor relu1(Tensor x) => relu_a.call(conv1.with_batch_norm(x, bn1));

        public Tensor pre_relu(Tensor x, Tensor relu1) =>
            conv2.with_batch_norm(relu1, bn2).add_tensor(downsample is null ? x : Shortcut(x));

        // The projection shortcut's 1x1 convolution and batch norm (found once), folded like the others.
        readonly (PaddedConv Conv, BatchNorm2d Bn)? _projection;

        Tensor Shortcut(Tensor x) =>
            _projection is { } p ? p.Conv.with_batch_norm(x, p.Bn) : downsample!.call(x);

        public override Tensor forward(Tensor x) => relu_b.call(pre_relu(x, relu1(x)));
    }

    sealed class Stage : nn.Module<Tensor, Tensor>
    {
        public IReadOnlyList<BasicBlock> Blocks { get; }

        public Stage(IReadOnlyList<BasicBlock> blocks) : base(nameof(Stage))
        {
            Blocks = blocks;
            for (int i = 0; i < blocks.Count; i++) register_module(i.ToString(), blocks[i]);
        }

        public override Tensor forward(Tensor x)
        {
            foreach (var b in Blocks) x = b.call(x);
            return x;
        }
    }

    /// <summary>Follows the graph value by value, checking each node is what a ResNet basic block needs.</summary>
    sealed class GraphWalker(OnnxModel model)
    {
        public NodeProto Single(string value, string opType)
        {
            var c = model.Consumers(value);
            if (c.Count != 1 || c[0].OpType != opType)
                throw new OnnxFormatException($"{model.Source}: expected '{OnnxModel.Name(value)}' to feed one {opType}, found {Describe(c)}.");
            return c[0];
        }

        static string Describe(IReadOnlyList<NodeProto> nodes) =>
            nodes.Count == 0 ? "nothing" : string.Join(", ", nodes.Take(5).Select(n => $"{OnnxModel.Name(n.OpType)} '{OnnxModel.Name(n.Name)}'"));

        public PaddedConv Conv(NodeProto node, bool matchCeil = false)
        {
            if (node.Int("group", 1) != 1)
                throw new OnnxFormatException($"{model.Source}: grouped convolution in node '{OnnxModel.Name(node.Name)}' is not supported.");
            if (node.Input.Count > 2 && node.Input[2] != "")
                throw new OnnxFormatException($"{model.Source}: convolution '{OnnxModel.Name(node.Name)}' has a bias; this backbone's convolutions have none.");
            WeightShape(node);
            using var w = model.FloatTensor(model.Input(node, 1));
            return new PaddedConv(w, PoolSpec.From(model, node), matchCeil);
        }

        public BatchNorm2d BatchNorm(NodeProto node)
        {
            if (node.Int("spatial", 1) != 1)
                throw new OnnxFormatException($"{model.Source}: BatchNormalization '{OnnxModel.Name(node.Name)}' is not spatial.");
            float eps = node.Float("epsilon", 1e-5f);
            var shapes = Enumerable.Range(1, 4).Select(i => model.Shape(model.Input(node, i))).ToList();
            if (shapes.Any(sh => sh.Length != 1 || sh[0] != shapes[0][0] || sh[0] < 1))
                throw new OnnxFormatException($"{model.Source}: BatchNormalization '{OnnxModel.Name(node.Name)}' has parameters of shapes {string.Join(", ", shapes.Select(sh => $"[{string.Join(", ", sh)}]"))}; expected four vectors of one length.");
            using var scale = model.FloatTensor(model.Input(node, 1));
            using var bias = model.FloatTensor(model.Input(node, 2));
            using var mean = model.FloatTensor(model.Input(node, 3));
            using var variance = model.FloatTensor(model.Input(node, 4));
            var bn = nn.BatchNorm2d(scale.shape[0], eps: eps);
            using (torch.no_grad())
            {
                bn.weight!.copy_(scale); bn.bias!.copy_(bias);
                bn.running_mean!.copy_(mean); bn.running_var!.copy_(variance);
            }
            return bn;
        }

        /// <summary>The shape of a convolution's weight, which must be [out, in, kh, kw].</summary>
        long[] WeightShape(NodeProto conv)
        {
            var shape = model.Shape(model.Input(conv, 1));
            if (shape.Length != 4)
                throw new OnnxFormatException($"{model.Source}: convolution '{OnnxModel.Name(conv.Name)}' has a weight of shape [{string.Join(", ", shape)}]; expected [out, in, kh, kw].");
            return shape;
        }

        /// <summary>Reads one basic block starting at value <paramref name="x"/>.</summary>
        public BasicBlock Block(string x, out string output)
        {
            var consumers = model.Consumers(x);
            var convs = consumers.Where(n => n.OpType == "Conv").ToList();
            NodeProto? proj = null;
            if (convs.Count == 2)
            {
                var ones = convs.Where(c => WeightShape(c)[2] == 1).ToList();
                proj = ones.Count == 1 ? ones[0]
                    : throw new OnnxFormatException($"{model.Source}: the two convolutions after '{OnnxModel.Name(x)}' are not a 1x1 projection and a main-path convolution.");
            }
            var main = convs.Count == 2 ? convs.Single(c => c != proj) : convs.Count == 1 ? convs[0]
                : throw new OnnxFormatException($"{model.Source}: expected a residual block after '{OnnxModel.Name(x)}', found {Describe(consumers)}.");
            var bn1 = Single(model.Output(main, 0), "BatchNormalization");
            var relu1 = Single(model.Output(bn1, 0), "Relu");
            var conv2 = Single(model.Output(relu1, 0), "Conv");
            var bn2 = Single(model.Output(conv2, 0), "BatchNormalization");
            var add = Single(model.Output(bn2, 0), "Add");
            Sequential? downsample = null;
            string shortcut = x;
            if (proj is not null)
            {
                var projBn = Single(model.Output(proj, 0), "BatchNormalization");
                downsample = nn.Sequential(("0", Conv(proj)), ("1", BatchNorm(projBn)));
                shortcut = model.Output(projBn, 0);
            }
            var others = add.Input.Where(i => i != model.Output(bn2, 0)).ToList();
            if (add.Input.Count != 2 || others.Count != 1 || others[0] != shortcut)
                throw new OnnxFormatException($"{model.Source}: residual Add '{OnnxModel.Name(add.Name)}' adds [{string.Join(", ", add.Input.Select(OnnxModel.Name))}], expected '{OnnxModel.Name(model.Output(bn2, 0))}' and the shortcut '{OnnxModel.Name(shortcut)}'.");
            output = model.Output(Single(model.Output(add, 0), "Relu"), 0);
            // Stride-2 main paths get the ceil(n/2) rule so they match the projection at odd sizes.
            bool strided = PoolSpec.From(model, main).Stride.Any(s => s > 1);
            return new BasicBlock(Conv(main, matchCeil: strided), BatchNorm(bn1), Conv(conv2), BatchNorm(bn2), downsample);
        }
    }
}
