using InputGradients.Models.ImageNet;
using InputGradients.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Tests.Runtime;

/// <summary>A fact skipped, with the reason, where the system's oneDNN 2.x cannot be loaded (CI installs Debian's libdnnl2).</summary>
public sealed class RequiresSystemOneDnnFactAttribute : FactAttribute
{
    public RequiresSystemOneDnnFactAttribute()
    {
        if (!SystemOneDnn.Available) Skip = $"system oneDNN unavailable: {SystemOneDnn.Description}";
    }
}

/// <summary>
/// The system's oneDNN 2.x route (<see cref="SystemOneDnn"/>) against independent references: the convolution written
/// out as loops (tiny shapes, see <see cref="ConvolutionKernelChecks.Definition"/>), libtorch's float64 convolution and autograd
/// over random shapes, strides and asymmetric padding, and the whole ResNet-18 backbone in float64. Every route the
/// code takes is run: the kernel with and without autograd, and each fallback to libtorch (switched off, a weight that
/// wants a gradient, float64).
/// </summary>
[Collection(nameof(ProcessWideBackend))] // SystemOneDnn.Enabled is process-wide
public sealed class SystemOneDnnTests : ConvolutionKernelChecks
{
    protected override bool KernelEnabled { get => SystemOneDnn.Enabled; set => SystemOneDnn.Enabled = value; }

    protected override Tensor Kernel(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride)
        => SystemOneDnn.conv2d(input, weight, bias, padding, stride);

    // float32 only: compared with the definition on the float32-rounded values.
    [RequiresSystemOneDnnFact]
    public void Tiny_convolutions_equal_the_definition_written_as_loops() => EqualsTheDefinitionOnTinyShapes(12, float32, 1e-5);

    [RequiresSystemOneDnnFact]
    public void Float32_output_and_input_gradient_agree_with_libtorch_float64_over_random_shapes() => AgreesWithFloat64OverRandomShapes(6);

    [RequiresSystemOneDnnFact]
    public void Repeated_calls_on_one_geometry_give_identical_results_with_and_without_autograd()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var x = randn(new long[] { 3, 16, 20, 20 }, generator: g);
        var w = randn(new long[] { 24, 16, 3, 3 }, generator: g);
        var b = randn(new long[] { 24 }, generator: g);
        Tensor first, second;
        using (no_grad()) first = With(true, () => SystemOneDnn.conv2d(x, w, b, (1, 1, 1, 1)));
        var xr = x.detach().requires_grad_(true);
        second = With(true, () => SystemOneDnn.conv2d(xr, w, b, (1, 1, 1, 1)));
        Assert.False(first.requires_grad);
        Assert.True(second.requires_grad);
        Assert.True(first.allclose(second.detach(), rtol: 0, atol: 0), "the forward pass differs between calls of one geometry");
    }

    [RequiresSystemOneDnnFact]
    public void Six_weights_of_one_geometry_are_reordered_once_each_until_one_changes_in_place()
    {
        // This backbone's layer4 runs five weights of one geometry in turn, forward and backward; a cache smaller than
        // that misses on every call. Six weights, two rounds: the second round must reorder nothing.
        using var scope = NewDisposeScope();
        var g = new Generator(12);
        var x = randn(new long[] { 2, 32, 9, 9 }, generator: g);
        var weights = Enumerable.Range(0, 6).Select(_ => randn(new long[] { 32, 32, 3, 3 }, generator: g) * 0.1).ToArray();
        Tensor Reference(Tensor w, Tensor input) => F.conv2d(input.to(float64), w.to(float64), padding: [1, 1]);
        void Round()
        {
            foreach (var w in weights)
            {
                var xr = x.detach().requires_grad_(true);
                var y = With(true, () => SystemOneDnn.conv2d(xr, w, null, (1, 1, 1, 1)));
                y.pow(2).sum().backward();
                var xr64 = x.to(float64).requires_grad_(true);
                Reference(w, xr64).pow(2).sum().backward();
                Assert.True(ConvolutionRoute.RelativeError(y.detach(), Reference(w, x)) < 1e-5, "forward differs from float64");
                Assert.True(ConvolutionRoute.RelativeError(xr.grad!, xr64.grad!) < 1e-5, "input gradient differs from float64");
            }
        }
        Round();
        long before = SystemOneDnn.WeightReorders;
        Round();
        Assert.Equal(0, SystemOneDnn.WeightReorders - before);
        // A weight changed in place is reordered again (forward and backward layouts), and the result follows it.
        using (no_grad()) weights[3].mul_(-2);
        Round();
        Assert.Equal(2, SystemOneDnn.WeightReorders - before);
    }

    [RequiresSystemOneDnnFact]
    public void Few_channel_input_gradients_are_computed_over_the_strides_phases_and_agree_with_float64()
    {
        // Below 16 input channels the input gradient is a forward convolution over the stride's phases
        // (BackwardDataByPhases): the stem, kernels smaller than the stride, non-square kernels, odd sizes, strides 1-3,
        // asymmetric padding, one channel; in both layouts, against libtorch's float64 autograd.
        (long N, long C, long O, long H, long W, long KH, long KW, long S, long Top, long Bottom, long Left, long Right)[] shapes =
        [
            (2, 3, 64, 37, 30, 7, 7, 2, 3, 3, 3, 3),
            (1, 3, 16, 32, 32, 7, 7, 2, 3, 3, 3, 3),
            (1, 1, 8, 11, 9, 3, 3, 3, 0, 2, 1, 0),
            (3, 15, 16, 10, 13, 5, 3, 2, 2, 1, 0, 2),
            (2, 4, 20, 9, 9, 2, 2, 3, 0, 0, 0, 0),
            (1, 3, 12, 8, 7, 1, 1, 2, 0, 0, 0, 0),
            (2, 6, 24, 12, 10, 3, 3, 1, 1, 1, 1, 1),
        ];
        using var scope = NewDisposeScope();
        long before = SystemOneDnn.PhaseInputGradients, backward = 0;
        foreach (var (n, c, o, h, w, kh, kw, s, top, bottom, left, right) in shapes)
            foreach (bool channelsLast in new[] { false, true })
            {
                using var inner = NewDisposeScope();
                var g = new Generator((ulong)(c * 1000 + h * 10 + s));
                var x64 = randn(new long[] { n, c, h, w }, dtype: float64, generator: g);
                var w64 = randn(new long[] { o, c, kh, kw }, dtype: float64, generator: g);
                var reference = Float64Reference.Of(x64, w64, null, (top, bottom, left, right), s, g);
                var x32 = x64.to(float32);
                var (_, dx, output, gradient) = Float32Against(reference, channelsLast ? SystemOneDnn.ChannelsLast(x32) : x32);
                backward++;
                string shape = $"n{n} c{c}->{o} k{kh}x{kw} s{s} pad({top},{bottom},{left},{right}) {h}x{w} {(channelsLast ? "NHWC" : "NCHW")}";
                Assert.True(output < 1e-5, $"{shape}: output differs from float64");
                Assert.True(gradient < 1e-5, $"{shape}: input gradient differs from float64");
                Assert.Equal(channelsLast && c > 1, SystemOneDnn.IsChannelsLast(dx));
            }
        Assert.Equal(backward, SystemOneDnn.PhaseInputGradients - before);
    }

    [RequiresSystemOneDnnFact]
    public void The_phase_kernel_of_a_weight_follows_the_weight_when_it_changes_in_place()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(31);
        var x = randn(new long[] { 2, 3, 20, 20 }, generator: g);
        var w = randn(new long[] { 16, 3, 7, 7 }, generator: g);
        void Check(string when)
        {
            var xr = x.detach().requires_grad_(true);
            With(true, () => SystemOneDnn.conv2d(xr, w, null, (3, 3, 3, 3), 2)).pow(2).sum().backward();
            var x64 = x.to(float64).requires_grad_(true);
            F.conv2d(F.pad(x64, [3, 3, 3, 3]), w.to(float64), strides: [2, 2]).pow(2).sum().backward();
            Assert.True(ConvolutionRoute.RelativeError(xr.grad!, x64.grad!) < 1e-5, $"{when}: input gradient differs from float64");
        }
        Check("first call");
        Check("second call (cached kernel)");
        using (no_grad()) w[.., .., 0].mul_(-3);   // in place: same storage, new version
        Check("after the weight changed in place");
    }

    [Fact]
    public void Channels_last_is_told_from_the_strides_and_made_without_copying_twice()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 5, 4, 3);
        Assert.False(SystemOneDnn.IsChannelsLast(x));
        var nhwc = SystemOneDnn.ChannelsLast(x);
        Assert.True(SystemOneDnn.IsChannelsLast(nhwc));
        Assert.Equal(new long[] { 60, 1, 15, 5 }, nhwc.stride());
        Assert.True(nhwc.eq(x).all().item<bool>());
        var again = SystemOneDnn.ChannelsLast(nhwc);
        Assert.Equal(DerivedTensors.DataPointer(nhwc), DerivedTensors.DataPointer(again));   // already laid out: no copy
        Assert.False(SystemOneDnn.IsChannelsLast(randn(2, 1, 4, 3)));                       // one channel: plain NCHW too
        Assert.False(SystemOneDnn.IsChannelsLast(nhwc[.., ..3]));                           // a slice is neither
        Assert.False(SystemOneDnn.IsChannelsLast(x.transpose(2, 3)));
    }

    [RequiresSystemOneDnnFact]
    public void Channels_last_inputs_stay_channels_last_and_agree_with_libtorch_float64_over_random_shapes()
    {
        using var scope = NewDisposeScope();
        var rng = new Random(21);
        long before = SystemOneDnn.ChannelsLastConvolutions;
        for (int trial = 0; trial < 40; trial++)
        {
            using var inner = NewDisposeScope();
            long n = rng.Next(1, 4), c = rng.Next(2, 40), o = rng.Next(2, 40), h = rng.Next(2, 20), w = rng.Next(2, 20);
            long k = rng.Next(1, 6), stride = rng.Next(1, 3), top = rng.Next(0, 3), bottom = rng.Next(0, 3), left = rng.Next(0, 3), right = rng.Next(0, 3);
            if (h + top + bottom < k || w + left + right < k) continue;
            var g = new Generator((ulong)(100 + trial));
            var x64 = randn(new long[] { n, c, h, w }, dtype: float64, generator: g);
            var w64 = randn(new long[] { o, c, k, k }, dtype: float64, generator: g);
            var b64 = trial % 2 == 0 ? randn(new long[] { o }, dtype: float64, generator: g) : null;
            var reference = Float64Reference.Of(x64, w64, b64, (top, bottom, left, right), stride, g);
            // The reference's output gradient is NCHW: an NCHW gradient arriving at a channels-last output.
            var (y, dx, output, gradient) = Float32Against(reference, SystemOneDnn.ChannelsLast(x64.to(float32)));
            string shape = $"n{n} c{c}->{o} k{k} s{stride} pad({top},{bottom},{left},{right}) {h}x{w}";
            Assert.True(output < 1e-5, $"{shape}: output differs from float64");
            Assert.True(gradient < 1e-5, $"{shape}: input gradient differs from float64");
            if (y.shape[2] * y.shape[3] > 1) Assert.True(SystemOneDnn.IsChannelsLast(y), $"{shape}: output not channels-last");
            Assert.True(SystemOneDnn.IsChannelsLast(dx), $"{shape}: input gradient not channels-last");
        }
        Assert.True(SystemOneDnn.ChannelsLastConvolutions - before >= 60, "the channels-last kernels did not run");
    }

    [RequiresSystemOneDnnFact]
    public void The_backbone_keeps_activations_channels_last_inside_and_gives_the_same_taps_and_gradient_as_in_nchw()
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        foreach (var p in model.parameters()) p.requires_grad = false;
        var x = model.Preprocess(rand(new long[] { 2, 3, 80, 96 }, generator: new Generator(5)) * 255);
        (Tensor Stem, Tensor Layer3, Tensor Gradient, Tensor Layer3Gradient) Run(bool channelsLast)
        {
            bool saved = ResNet18Backbone.ChannelsLastActivations;
            ResNet18Backbone.ChannelsLastActivations = channelsLast;
            try
            {
                var input = x.detach().clone().requires_grad_(true);
                var taps = With(true, () => model.forward_features(input, "stem", "layer2.1.relu1", "layer3", "layer3.1", "layer4"));
                // Taps come back as the pass computed them: channels-last inside on this route.
                Assert.All(taps.Values, t => Assert.True(channelsLast ? SystemOneDnn.IsChannelsLast(t) : t.is_contiguous(), "a tap is not in the pass's layout"));
                Assert.Same(taps["layer3"], taps["layer3.1"]);   // one output, two names
                // Later outputs depend on the taps as returned: Grad-CAM differentiates layer4 by layer3's tap.
                var byLayer3 = With(true, () => autograd.grad([taps["layer4"][.., 7].sum()], [taps["layer3"]], retain_graph: true)[0]);
                (taps["layer3"][.., 7].sum() + taps["stem"].pow(2).mean() + taps["layer2.1.relu1"].mean()).backward();
                Assert.True(input.grad!.is_contiguous(), "the input gradient must be NCHW like the input");
                return (taps["stem"].detach(), taps["layer3"].detach(), input.grad!.detach(), byLayer3.detach());
            }
            finally { ResNet18Backbone.ChannelsLastActivations = saved; }
        }
        long before = SystemOneDnn.ChannelsLastConvolutions;
        var nhwc = Run(true);
        long used = SystemOneDnn.ChannelsLastConvolutions - before;
        var nchw = Run(false);
        Assert.Equal(0, SystemOneDnn.ChannelsLastConvolutions - before - used);
        // To layer4 (2, 2, 2 and 3 blocks): all 22 convolutions forward (the stem, eighteen 3x3, three 1x1 stride-2
        // shortcuts), fifteen backward from layer3 (the stem, twelve 3x3, two shortcuts); layer4's gradient by layer3
        // adds its own seven.
        Assert.True(used >= 22 + 15 + 7, $"only {used} convolutions ran channels-last");
        Assert.True(ConvolutionRoute.RelativeError(nhwc.Stem, nchw.Stem.to(float64)) < 1e-5, "stem differs between layouts");
        Assert.True(ConvolutionRoute.RelativeError(nhwc.Layer3, nchw.Layer3.to(float64)) < 1e-5, "layer3 differs between layouts");
        Assert.True(ConvolutionRoute.RelativeError(nhwc.Gradient, nchw.Gradient.to(float64)) < 1e-4, "input gradient differs between layouts");
        Assert.True(ConvolutionRoute.RelativeError(nhwc.Layer3Gradient, nchw.Layer3Gradient.to(float64)) < 1e-4, "layer4's gradient by layer3 differs between layouts");

        // A hook anywhere: the pass runs in NCHW, so the hook sees the tensors it always saw.
        bool? hookSawChannelsLast = null;
        var conv = (nn.Module<Tensor, Tensor>)model.named_modules().Single(m => m.name == "layer2.0.conv2").module;
        using (var hooks = new InputGradients.Core.HookScope())
        {
            hooks.Add(conv.register_forward_hook((_, input, output) => { hookSawChannelsLast = SystemOneDnn.IsChannelsLast(input); return output; }));
            With(true, () => model.forward_features(x, "layer3"));
        }
        Assert.False(hookSawChannelsLast ?? true, "with a hook registered the pass must stay NCHW (or the hook did not run)");
    }

    /// <summary>
    /// The 1x1 stride-2 shortcuts' exported padding leaves the input's last row and column out (a trailing padding of
    /// -1); they run here with padding 0, which reads those nowhere either. All 22 convolutions take this route.
    /// </summary>
    [RequiresSystemOneDnnFact]
    public void Every_backbone_convolution_takes_this_route_the_strided_shortcuts_too()
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        foreach (var p in model.parameters()) p.requires_grad = false;
        int convolutions = model.named_modules().Count(m => m.module.GetType().Name == "PaddedConv");
        Assert.Equal(1 + 2 * (2 + 2 + 2 + 3) + 3, convolutions);   // stem, two per block, three shortcuts
        var x = model.Preprocess(rand(new long[] { 1, 3, 64, 64 }, generator: new Generator(9)) * 255);
        long before = SystemOneDnn.ChannelsLastConvolutions;
        With(true, () => { using var noGrad = no_grad(); return model.forward_features(x, "layer4"); });
        Assert.Equal(convolutions, SystemOneDnn.ChannelsLastConvolutions - before);
    }

    [Fact]
    public void Switched_off_or_given_float64_it_is_libtorchs_convolution_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var x = randn(new long[] { 1, 4, 8, 8 }, generator: g);
        var w = randn(new long[] { 3, 4, 3, 3 }, generator: g);
        var reference = F.conv2d(F.pad(x, [1, 0, 1, 2]), w, strides: [2, 2]);
        var off = With(false, () => SystemOneDnn.conv2d(x, w, null, (1, 2, 1, 0), 2));
        Assert.True(off.allclose(reference, rtol: 0, atol: 0), "switched off, the result is not libtorch's convolution");
        var x64 = x.to(float64);
        var w64 = w.to(float64);
        var on64 = With(true, () => SystemOneDnn.conv2d(x64, w64, null, (1, 2, 1, 0), 2));
        Assert.True(on64.allclose(F.conv2d(F.pad(x64, [1, 0, 1, 2]), w64, strides: [2, 2]), rtol: 0, atol: 0), "float64 did not go to libtorch");
    }

    [Fact]
    public void A_weight_that_wants_a_gradient_goes_to_libtorch_and_gets_the_right_one() => GivesAWeightThatWantsAGradientToLibtorch();

    [Theory]
    [MemberData(nameof(BadArguments), MemberType = typeof(ConvolutionKernelChecks))]
    public void Bad_arguments_are_refused_with_one_line(int inChannels, int kernel, long top, long bottom, long stride, string message)
        => RefusesBadArguments(inChannels, kernel, top, bottom, stride, message);

    [RequiresSystemOneDnnFact]
    public void The_routes_self_check_passes_here_and_refuses_transposed_probes()
    {
        long channelsLastBefore = SystemOneDnn.ChannelsLastConvolutions, phasesBefore = SystemOneDnn.PhaseInputGradients;
        var results = ConvolutionRoute.CheckSystem(ConvolutionRoute.SystemProbes);
        Assert.Equal(ConvolutionRoute.SystemProbes.Count, results.Count);
        // The backbone's 1x1 stride-2 shortcuts take this route, so their kernel is among the probes; so does the stem,
        // whose input gradient goes over the stride's phases (two few-channel probes, two layouts each).
        Assert.Contains(results, r => r.Probe is { Kernel: 1, Stride: 2 });
        Assert.Contains(results, r => r.Probe is { InChannels: 3, Kernel: 7, Stride: 2 });
        Assert.True(SystemOneDnn.PhaseInputGradients - phasesBefore >= 4, "the self-check did not run the phase route");
        // The channels-last kernels the backbone uses inside a pass are checked too: forward and backward per probe.
        Assert.True(SystemOneDnn.ChannelsLastConvolutions - channelsLastBefore >= 2 * results.Count, "the self-check did not run the channels-last kernels");
        // Float32 against float64 is never exact: an error of 0 would mean the check compared float64 with itself.
        Assert.All(results, r => Assert.InRange(Math.Max(r.Output, r.InputGradient), 1e-9, ConvolutionRoute.Tolerance / 10));
        Assert.Throws<ArgumentException>(() => ConvolutionRoute.CheckSystem(ConvolutionRoute.Probes.Where(p => p.Transposed)));
    }

    /// <summary>Whether this CPU has AVX-512 (oneDNN 2.x has Winograd kernels there only).</summary>
    static bool HasAvx512 => File.Exists("/proc/cpuinfo") && File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("flags") && l.Contains(" avx512f"));

    /// <summary>Runs <paramref name="body"/> with <see cref="SystemOneDnn.Winograd"/> set as given, restored after.</summary>
    static T WithWinograd<T>(bool on, Func<T> body)
    {
        bool saved = SystemOneDnn.Winograd;
        SystemOneDnn.Winograd = on;
        try { return body(); }
        finally { SystemOneDnn.Winograd = saved; }
    }

    [RequiresSystemOneDnnFact]
    public void Winograd_convolutions_agree_with_float64_in_both_layouts_about_as_closely_as_the_direct_ones()
    {
        using var scope = NewDisposeScope();
        // Shapes Winograd is asked for (3x3, stride 1, multiples of 16 channels, batch >= 4, maps >= 14), padding 1 and 0, odd sizes.
        (long N, long C, long O, long Pad, long H, long W)[] shapes = [(4, 16, 32, 1, 14, 14), (5, 64, 64, 1, 28, 28), (4, 32, 16, 0, 17, 23), (6, 48, 64, 1, 19, 15)];
        long before = SystemOneDnn.WinogradConvolutions;
        foreach (var (n, c, o, pad, h, w) in shapes)
        {
            using var inner = NewDisposeScope();
            var g = new Generator((ulong)(n * 1000 + c + h));
            var x64 = randn(new long[] { n, c, h, w }, dtype: float64, generator: g);
            var w64 = randn(new long[] { o, c, 3, 3 }, dtype: float64, generator: g) / Math.Sqrt(9 * c);
            var b64 = randn(new long[] { o }, dtype: float64, generator: g);
            var reference = Float64Reference.Of(x64, w64, b64, (pad, pad, pad, pad), 1, g);
            foreach (bool channelsLast in new[] { false, true })
            {
                (double Output, double Gradient) Errors(bool winograd) => WithWinograd(winograd, () =>
                {
                    var (y, dx, output, gradient) = Float32Against(reference, channelsLast ? SystemOneDnn.ChannelsLast(x64.to(float32)) : x64.to(float32));
                    Assert.Equal(channelsLast, SystemOneDnn.IsChannelsLast(y));
                    Assert.Equal(channelsLast, SystemOneDnn.IsChannelsLast(dx));
                    return (output, gradient);
                });
                long winogradBefore = SystemOneDnn.WinogradConvolutions;
                var direct = Errors(false);
                Assert.Equal(winogradBefore, SystemOneDnn.WinogradConvolutions);   // switched off: direct kernels only
                var winograd = Errors(true);
                string shape = $"n{n} c{c}->{o} pad {pad} {h}x{w} {(channelsLast ? "channels-last" : "NCHW")}";
                Assert.True(winograd.Output < 1e-5 && winograd.Gradient < 1e-5, $"{shape}: Winograd {winograd} from float64 (direct {direct})");
                // Winograd's transforms round more than the direct sums; an order of magnitude more would be a defect.
                Assert.True(winograd.Output < 10 * direct.Output + 1e-7 && winograd.Gradient < 10 * direct.Gradient + 1e-7, $"{shape}: Winograd {winograd}, direct {direct}");
            }
        }
        if (HasAvx512) Assert.Equal(shapes.Length * 2 * 2, SystemOneDnn.WinogradConvolutions - before);   // forward and backward, two layouts
    }

    [RequiresSystemOneDnnFact]
    public void Winograd_is_asked_for_at_batch_4_on_maps_of_14_and_not_below_nor_for_other_kernels()
    {
        using var scope = NewDisposeScope();
        long Count(long n, long c, long k, long stride, long size)
        {
            using var inner = NewDisposeScope();
            var g = new Generator(3);
            var x = randn(new long[] { n, c, size, size }, generator: g);
            var w = randn(new long[] { 32, c, k, k }, generator: g);
            long before = SystemOneDnn.WinogradConvolutions;
            With(true, () => SystemOneDnn.conv2d(x, w, null, (k / 2, k / 2, k / 2, k / 2), stride));
            return SystemOneDnn.WinogradConvolutions - before;
        }
        long expected = HasAvx512 ? 1 : 0;
        Assert.Equal(expected, Count(4, 32, 3, 1, 14));
        Assert.Equal(0, Count(3, 32, 3, 1, 14));    // batch below 4 (measured: the reorders eat the gain at batch 1)
        Assert.Equal(0, Count(4, 32, 3, 1, 13));    // map below 14 (7x7 is twice slower)
        Assert.Equal(0, Count(4, 24, 3, 1, 14));    // channels not a multiple of 16
        Assert.Equal(0, Count(4, 32, 3, 2, 28));    // stride 2
        Assert.Equal(0, Count(4, 32, 5, 1, 14));    // 5x5
        Assert.Equal(0, WithWinograd(false, () => Count(4, 32, 3, 1, 14)));
    }

    [RequiresSystemOneDnnFact]
    public void A_winograd_convolution_oneDNN_declines_falls_back_to_direct_kernels_and_agrees_with_float64()
    {
        using var scope = NewDisposeScope();
        // Winograd is asked for on every 3x3 stride-1 shape below; oneDNN 2.6's kernels take only padding 0 or 1 on
        // each side alike (measured: padding 2, or 0 on one side and 2 on the other, are declined as unimplemented).
        (long Top, long Bottom, long Left, long Right)[] paddings = [(2, 2, 2, 2), (0, 2, 0, 2), (1, 1, 0, 2)];
        long declined = 0;
        foreach (var (top, bottom, left, right) in paddings)
        foreach (bool channelsLast in new[] { false, true })
        {
            using var inner = NewDisposeScope();
            var g = new Generator((ulong)(top * 100 + left * 10 + right));
            var x64 = randn(new long[] { 4, 32, 16, 18 }, dtype: float64, generator: g);
            var w64 = randn(new long[] { 48, 32, 3, 3 }, dtype: float64, generator: g) / Math.Sqrt(9 * 32);
            var reference = Float64Reference.Of(x64, w64, null, (top, bottom, left, right), 1, g);
            long before = SystemOneDnn.WinogradConvolutions;
            var (_, dx, output, gradient) = WithWinograd(true, () => Float32Against(reference, channelsLast ? SystemOneDnn.ChannelsLast(x64.to(float32)) : x64.to(float32)));
            if (SystemOneDnn.WinogradConvolutions == before) declined++;
            Assert.True(output < 1e-5 && gradient < 1e-5, $"padding {(top, bottom, left, right)} {(channelsLast ? "channels-last" : "NCHW")}: errors {output:E2}, {gradient:E2} against float64");
            Assert.Equal(channelsLast, SystemOneDnn.IsChannelsLast(dx));
        }
        // The fallback was taken (where oneDNN has Winograd kernels at all); if a later oneDNN takes these paddings,
        // the agreement above still holds and this line asks for new shapes that exercise the fallback.
        if (HasAvx512) Assert.True(declined > 0, "oneDNN took Winograd kernels for every padding here: the fallback to direct kernels went untested");
    }

    /// <summary>The backbone's layer4 and the input gradient of layer4's channel 3 plus the mean square of <paramref name="tap"/>.</summary>
    static (Tensor Features, Tensor Gradient) FeaturesAndInputGradient(ResNet18Backbone net, Tensor x, string tap)
    {
        var input = x.detach().clone().requires_grad_(true);
        var taps = net.forward_features(input, tap, "layer4");
        (taps["layer4"][.., 3].sum() + taps[tap].pow(2).mean()).backward();
        return (taps["layer4"].detach(), input.grad!.detach());
    }

    [RequiresSystemOneDnnFact]
    public void The_backbone_at_batch_5_on_winograd_agrees_with_float64_as_closely_as_on_direct_kernels()
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        using var model64 = ResNet18Backbone.Load();
        model64.to(float64);
        foreach (var p in model.parameters()) p.requires_grad = false;
        var x = model.Preprocess(rand(new long[] { 5, 3, 112, 112 }, generator: new Generator(12)) * 255);   // layer1 28x28, layer2 14x14
        (Tensor Features, Tensor Gradient) Run(ResNet18Backbone net, Tensor input) => FeaturesAndInputGradient(net, input, "layer2");
        var (y64, g64) = Run(model64, x.to(float64));
        long before = SystemOneDnn.WinogradConvolutions;
        var (yWinograd, gWinograd) = With(true, () => WithWinograd(true, () => Run(model, x)));
        long used = SystemOneDnn.WinogradConvolutions - before;
        var (yDirect, gDirect) = With(true, () => WithWinograd(false, () => Run(model, x)));
        static double MeanError(Tensor a, Tensor r) => (a.to(float64) - r).abs().mean().item<double>() / r.abs().mean().item<double>();
        double fW = MeanError(yWinograd, y64), gW = MeanError(gWinograd, g64), fD = MeanError(yDirect, y64), gD = MeanError(gDirect, g64);
        // layer1's four and layer2's three stride-1 3x3 convolutions, forward and backward.
        if (HasAvx512) Assert.Equal(2 * (4 + 3), used);
        Assert.True(fW < 1e-5 && gW < 1e-4, $"Winograd against float64: features {fW:E2}, input gradient {gW:E2} (direct: {fD:E2}, {gD:E2})");
        Assert.True(fW < 10 * fD + 1e-7 && gW < 10 * gD + 1e-7, $"Winograd features {fW:E2}, gradient {gW:E2}; direct {fD:E2}, {gD:E2}");
        Assert.True(fW > 0 && gW > 0, "float32 equals float64 exactly: the comparison did not run the route");
    }

    [RequiresSystemOneDnnFact]
    public void The_backbone_on_this_route_agrees_with_the_backbone_in_float64_as_closely_as_libtorchs_route()
    {
        using var scope = NewDisposeScope();
        using var model = ResNet18Backbone.Load();
        using var model64 = ResNet18Backbone.Load();
        model64.to(float64);
        var x = model.Preprocess(rand(new long[] { 2, 3, 96, 80 }, generator: new Generator(8)) * 255);
        (Tensor Features, Tensor Gradient) Run(ResNet18Backbone net, Tensor input) => FeaturesAndInputGradient(net, input, "layer1");
        var (y64, g64) = Run(model64, x.to(float64));
        var (ySystem, gSystem) = With(true, () => Run(model, x));
        var (yLibtorch, gLibtorch) = With(false, () => Run(model, x));
        // Mean absolute error relative to the mean magnitude: a ReLU that flips at a float32 rounding changes a few
        // gradient entries on either route, which the maximum would magnify.
        static double MeanError(Tensor a, Tensor r) => (a.to(float64) - r).abs().mean().item<double>() / r.abs().mean().item<double>();
        double fSystem = MeanError(ySystem, y64), gErrSystem = MeanError(gSystem, g64);
        double fLibtorch = MeanError(yLibtorch, y64), gErrLibtorch = MeanError(gLibtorch, g64);
        Assert.True(fSystem < 1e-5 && gErrSystem < 1e-4,
            $"system oneDNN against float64: features {fSystem:E2}, input gradient {gErrSystem:E2} (libtorch's route: {fLibtorch:E2}, {gErrLibtorch:E2})");
        Assert.True(gErrSystem < 10 * gErrLibtorch + 1e-7,
            $"system oneDNN's input gradient is {gErrSystem:E2} from float64, libtorch's route {gErrLibtorch:E2}");
        Assert.True(fSystem > 0 && gErrSystem > 0, "the float32 route equals float64 exactly: the comparison did not run the route");
    }
}
