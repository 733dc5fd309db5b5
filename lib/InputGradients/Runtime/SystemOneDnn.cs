using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace InputGradients.Runtime;

/// <summary>
/// <c>conv2d</c> and its input gradient through the system's oneDNN 2.x (<c>libdnnl.so.2</c>, Debian's <c>libdnnl2</c>,
/// the library Debian's PyTorch 1.13 computes its convolutions with): the fast route on machines where libtorch's own
/// oneDNN (3.7.1) computes wrong results (see <see cref="ConvolutionRoute"/>). There, Debian's oneDNN 2.6.3 is right
/// (0 of 300 random shapes wrong in PyTorch 1.13) and fast: PyTorch 1.13 ran the ResNet-18 backbone's saliency at 89 %
/// of the machine's float32 peak against 18 % on libtorch's im2col route (<c>bench/results</c>). It is used only after
/// <see cref="ConvolutionRoute"/> checked it against float64 on this machine, never on trust.
/// </summary>
/// <remarks>
/// Bound by hand through oneDNN's C API (<c>dnnl.h</c> of version 2.x: operation descriptors, primitive descriptors,
/// primitives), loaded with <see cref="NativeLibrary"/> when present, so nothing is needed at build time and machines
/// without it simply keep libtorch's route. As PyTorch's ideep does, each convolution lets oneDNN pick its preferred
/// (blocked) layouts and reorders the NCHW tensors in and out. Primitives are kept per geometry. Weight and bias
/// gradients are not computed here: when either is wanted, <see cref="conv2d"/> runs libtorch's convolution. oneDNN 2.x
/// runs on the system's OpenMP (<c>libgomp.so.1</c>), a second runtime beside libtorch's; each call gives it
/// <c>torch.get_num_threads()</c> threads, and it reads <c>OMP_WAIT_POLICY</c> from the environment
/// <see cref="TorchRuntime"/> sets before anything loads.
/// </remarks>
public static unsafe class SystemOneDnn
{
    /// <summary>The library's file name (Linux soname of oneDNN 2.x).</summary>
    public const string LibraryName = "libdnnl.so.2";

    /// <summary>Whether models use this route where it applies. Set by <see cref="ConvolutionRoute"/> after its check; process-wide.</summary>
    public static bool Enabled { get; set; }

    /// <summary>
    /// Whether 3x3 stride-1 convolutions over multiples of 16 channels, at batches of at least
    /// <see cref="WinogradMinimumBatch"/> and on output maps of at least <see cref="WinogradMinimumSide"/> a side, use
    /// oneDNN's Winograd kernels (F(4x4, 3x3): 36 products per 4x4 output tile and channel pair where the direct
    /// method takes 144) where oneDNN 2.x has them (AVX-512), else its direct ones. Process-wide; the route's
    /// self-check covers both (<see cref="ConvolutionRoute.SystemProbes"/>).
    /// </summary>
    /// <remarks>
    /// Measured on the affected EPYC, ResNet-18 backbone, 2 threads, <c>ONEDNN_VERBOSE</c> per call, forward /
    /// backward to the input. Batch 5 at 224 px: 64 channels at 56x56 2.5 / 4.7 ms against 4.0 / 5.7 ms for the direct
    /// NHWC kernels; 128 at 28x28 2.5 / 2.2 against 4.7 / 4.1; 256 at 14x14 3.1 / 2.7 against 3.7 / 3.3; 512 at 7x7
    /// 9.1 / 6.2 against 4.7 / 4.4 (4x4 tiles waste a third of a 7x7 map). Batch 1 at 192 px (style transfer): 48x48
    /// 0.54 / 0.56 against 0.62 / 0.62, 24x24 even, 12x12 1.1 / 1.2 against 0.62 / 0.63. Winograd takes oneDNN's
    /// blocked layout only, so channels-last activations are reordered in and out around it: at batch 1 that eats the
    /// gain (style transfer 5-15 % slower with it), at batch 5 the saliency pass is 12-14 % faster
    /// (<c>scratch</c> timing, interleaved). Its rounding differs from the direct method's (transforms with factors up
    /// to 8) and stays far inside the self-check's tolerance (tests measure it against float64).
    /// </remarks>
    public static bool Winograd { get; set; } = true;

    /// <summary>The smallest output side (height and width) <see cref="Winograd"/> is used for.</summary>
    public const long WinogradMinimumSide = 14;

    /// <summary>The smallest batch <see cref="Winograd"/> is used for.</summary>
    public const long WinogradMinimumBatch = 4;

    /// <summary>Whether the library loaded and a CPU engine could be made.</summary>
    public static bool Available { get { Bind(); return engine != IntPtr.Zero; } }

    /// <summary>"oneDNN 2.6.3 (libdnnl.so.2)", or why it is not available.</summary>
    public static string Description { get { Bind(); return description; } }

    static readonly object Gate = new();
    static bool bound;
    static string description = "";
    static IntPtr engine, stream;
    static readonly ConcurrentDictionary<Geometry, Plan> Plans = new();

    // --- oneDNN 2.x C API (values from dnnl_types.h of 2.x; fixed for the whole 2.x ABI) ---
    const int Success = 0, CpuEngine = 1, StreamDefaultFlags = 1;
    const int Float32 = 3, TagAny = 1, TagA = 2, TagAbcd = 5;      // dnnl_f32, dnnl_format_tag_any, dnnl_a (x), dnnl_abcd (nchw / oihw)
    const int Unimplemented = 3, ForwardTraining = 64, ConvolutionDirect = 1, ConvolutionWinograd = 2;
    const int ArgSrc = 1, ArgDst = 17, ArgWeights = 33, ArgBias = 41, ArgDiffSrc = 129, ArgDiffDst = 145, ArgFrom = 1, ArgTo = 17;
    const int QuerySrc = 129, QueryDiffSrc = 130, QueryWeights = 131, QueryDst = 133, QueryDiffDst = 134;
    // Opaque buffers for dnnl_memory_desc_t (696 bytes in 2.6) and dnnl_convolution_desc_t (5976 bytes): generous.
    const int MemoryDescBytes = 2048, OpDescBytes = 16384;

    [StructLayout(LayoutKind.Sequential)]
    struct ExecArg { public int Arg; public IntPtr Memory; }

    [StructLayout(LayoutKind.Sequential)]
    struct Version { public int Major, Minor, Patch; public IntPtr Hash; public uint CpuRuntime, GpuRuntime; }

    static delegate* unmanaged<IntPtr*, int, nuint, int> engineCreate;
    static delegate* unmanaged<IntPtr*, IntPtr, uint, int> streamCreate;
    static delegate* unmanaged<IntPtr, int> streamWait;
    static delegate* unmanaged<byte*, int, long*, int, int, int> memoryDescInitByTag;
    static delegate* unmanaged<byte*, int, long*, int, long*, int> memoryDescInitByStrides;
    static delegate* unmanaged<byte*, int, int, byte*, byte*, byte*, byte*, long*, long*, long*, int> convolutionForwardDescInit;
    static delegate* unmanaged<byte*, int, byte*, byte*, byte*, long*, long*, long*, int> convolutionBackwardDataDescInit;
    static delegate* unmanaged<IntPtr*, byte*, IntPtr, IntPtr, IntPtr, int> primitiveDescCreate;
    static delegate* unmanaged<IntPtr, int, int, byte*> primitiveDescQueryMd;
    static delegate* unmanaged<IntPtr*, IntPtr, int> primitiveCreate;
    static delegate* unmanaged<IntPtr*, byte*, IntPtr, IntPtr, int> memoryCreate;
    static delegate* unmanaged<IntPtr, int> memoryDestroy;
    static delegate* unmanaged<IntPtr*, byte*, IntPtr, byte*, IntPtr, IntPtr, int> reorderPrimitiveDescCreate;
    static delegate* unmanaged<IntPtr, IntPtr, int, ExecArg*, int> primitiveExecute;
    static delegate* unmanaged<byte*, byte*, int> memoryDescEqual;
    static delegate* unmanaged<byte*, nuint> memoryDescGetSize;
    static delegate* unmanaged<int, void> ompSetNumThreads;

    static void Bind()
    {
        if (bound) return;
        lock (Gate)
        {
            if (bound) return;
            description = TryBind(out var reason) ? description : reason;
            bound = true;
        }
    }

    static bool TryBind(out string reason)
    {
        reason = "";
        if (!OperatingSystem.IsLinux()) { reason = $"{LibraryName} is looked for on Linux only"; return false; }
        TorchRuntime.EnsureLoaded();
        if (!NativeLibrary.TryLoad(LibraryName, out var lib))
        {
            reason = $"{LibraryName} not found (Debian/Ubuntu: apt-get install libdnnl2)";
            return false;
        }
        var missing = new List<string>();
        IntPtr Get(IntPtr library, string name)
        {
            if (NativeLibrary.TryGetExport(library, name, out var f)) return f;
            missing.Add(name);
            return IntPtr.Zero;
        }
        var version = Get(lib, "dnnl_version");
        engineCreate = (delegate* unmanaged<IntPtr*, int, nuint, int>)Get(lib, "dnnl_engine_create");
        streamCreate = (delegate* unmanaged<IntPtr*, IntPtr, uint, int>)Get(lib, "dnnl_stream_create");
        streamWait = (delegate* unmanaged<IntPtr, int>)Get(lib, "dnnl_stream_wait");
        memoryDescInitByTag = (delegate* unmanaged<byte*, int, long*, int, int, int>)Get(lib, "dnnl_memory_desc_init_by_tag");
        memoryDescInitByStrides = (delegate* unmanaged<byte*, int, long*, int, long*, int>)Get(lib, "dnnl_memory_desc_init_by_strides");
        convolutionForwardDescInit = (delegate* unmanaged<byte*, int, int, byte*, byte*, byte*, byte*, long*, long*, long*, int>)Get(lib, "dnnl_convolution_forward_desc_init");
        convolutionBackwardDataDescInit = (delegate* unmanaged<byte*, int, byte*, byte*, byte*, long*, long*, long*, int>)Get(lib, "dnnl_convolution_backward_data_desc_init");
        primitiveDescCreate = (delegate* unmanaged<IntPtr*, byte*, IntPtr, IntPtr, IntPtr, int>)Get(lib, "dnnl_primitive_desc_create");
        primitiveDescQueryMd = (delegate* unmanaged<IntPtr, int, int, byte*>)Get(lib, "dnnl_primitive_desc_query_md");
        primitiveCreate = (delegate* unmanaged<IntPtr*, IntPtr, int>)Get(lib, "dnnl_primitive_create");
        memoryCreate = (delegate* unmanaged<IntPtr*, byte*, IntPtr, IntPtr, int>)Get(lib, "dnnl_memory_create");
        memoryDestroy = (delegate* unmanaged<IntPtr, int>)Get(lib, "dnnl_memory_destroy");
        reorderPrimitiveDescCreate = (delegate* unmanaged<IntPtr*, byte*, IntPtr, byte*, IntPtr, IntPtr, int>)Get(lib, "dnnl_reorder_primitive_desc_create");
        primitiveExecute = (delegate* unmanaged<IntPtr, IntPtr, int, ExecArg*, int>)Get(lib, "dnnl_primitive_execute");
        memoryDescEqual = (delegate* unmanaged<byte*, byte*, int>)Get(lib, "dnnl_memory_desc_equal");
        memoryDescGetSize = (delegate* unmanaged<byte*, nuint>)Get(lib, "dnnl_memory_desc_get_size");
        // The OpenMP runtime oneDNN 2.x links (already loaded with it), and a tensor's address (DerivedTensors binds it).
        if (NativeLibrary.TryLoad("libgomp.so.1", out var gomp))
            ompSetNumThreads = (delegate* unmanaged<int, void>)Get(gomp, "omp_set_num_threads");
        if (!DerivedTensors.DataPointerAvailable) missing.Add("LibTorchSharp's THSTensor_data");
        if (missing.Count > 0) { reason = $"{LibraryName} lacks {string.Join(", ", missing)}"; return false; }

        var v = *((delegate* unmanaged<Version*>)version)();
        if (v.Major != 2) { reason = $"{LibraryName} is oneDNN {v.Major}.{v.Minor}.{v.Patch}; this binding is for the 2.x API"; return false; }
        IntPtr e, s;
        if (engineCreate(&e, CpuEngine, 0) != Success) { reason = $"{LibraryName}: no CPU engine"; return false; }
        if (streamCreate(&s, e, StreamDefaultFlags) != Success) { reason = $"{LibraryName}: no CPU stream"; return false; }
        (engine, stream) = (e, s);
        description = string.Create(CultureInfo.InvariantCulture, $"oneDNN {v.Major}.{v.Minor}.{v.Patch} ({LibraryName})");
        return true;
    }

    /// <summary>
    /// <c>F.conv2d(F.pad(input, [left, right, top, bottom]), weight, bias, stride)</c>, dilation 1, one group, float32 on
    /// the CPU: here when <see cref="Enabled"/> and <see cref="Available"/> and no weight or bias gradient is wanted,
    /// else by libtorch. Output and input gradient in the input's layout: NCHW, or channels-last (NHWC, computed by oneDNN's NHWC kernels with no reorder) when the input is.
    /// </summary>
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride = 1)
    {
        ConvolutionArguments.Check(nameof(SystemOneDnn), input, weight, bias, padding, stride);
        var (top, bottom, left, right) = padding;
        bool parameterGradient = is_grad_enabled() && (weight.requires_grad || bias?.requires_grad == true);
        bool float32Cpu = input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32 && (bias is null || bias.dtype == ScalarType.Float32)
            && input.device_type == DeviceType.CPU && weight.device_type == DeviceType.CPU;
        if (!Enabled || parameterGradient || !float32Cpu || !Available)
        {
            using var padded = F.pad(input, [left, right, top, bottom]);
            return F.conv2d(padded, weight, bias, strides: [stride, stride]);
        }
        var geometry = new Geometry(input.shape[0], input.shape[1], input.shape[2], input.shape[3], weight.shape[0],
            weight.shape[2], weight.shape[3], stride, top, bottom, left, right, bias is not null, IsChannelsLast(input));
        if (is_grad_enabled() && input.requires_grad)
            return Function.apply(input, weight, bias!, geometry);
        return Forward(geometry, input, weight, bias);
    }

    /// <summary>One convolution's sizes: input N×C×H×W, O output channels, kh×kw kernel, stride, zero padding, bias or not, and the activations' layout (NCHW, or NHWC when channels-last).</summary>
    readonly record struct Geometry(long N, long C, long H, long W, long O, long KH, long KW, long Stride, long Top, long Bottom, long Left, long Right, bool Bias, bool ChannelsLast)
    {
        /// <summary>Threads the primitives are made for: oneDNN splits the work (and sizes scratch memory) when it makes a primitive.</summary>
        public int Threads { get; init; } = get_num_threads();

        /// <summary>Whether Winograd kernels are asked for (see <see cref="SystemOneDnn.Winograd"/>); oneDNN may still decline them.</summary>
        public bool Winograd { get; init; } = SystemOneDnn.Winograd && KH == 3 && KW == 3 && Stride == 1 && C % 16 == 0 && O % 16 == 0
            && N >= WinogradMinimumBatch && H + Top + Bottom - 2 >= WinogradMinimumSide && W + Left + Right - 2 >= WinogradMinimumSide;

        public long OH => (H + Top + Bottom - KH) / Stride + 1;
        public long OW => (W + Left + Right - KW) / Stride + 1;
    }

    /// <summary>A geometry's primitives: forward, backward to the input (made on first use), and reorders from and to NCHW.</summary>
    sealed class Plan
    {
        public IntPtr ForwardDesc, Forward; // fields, so Build can pass Forward by reference
        public int Algorithm = ConvolutionDirect;                // the forward's: Winograd where asked for and implemented
        public IntPtr BackwardDesc, Backward;
        public int BackwardAlgorithm = ConvolutionDirect;
        public byte* UserSrc, UserWeights, UserBias, UserDst;   // plain layouts (abcd / a), owned here
        public byte* Src, Weights, Dst;                          // the forward's chosen layouts (inside ForwardDesc)
        public byte* DiffSrc, BackWeights, DiffDst;              // the backward's (inside BackwardDesc)
        public readonly Dictionary<(IntPtr, IntPtr), IntPtr> Reorders = new();
        // Weights already reordered into ForwardDesc's and BackwardDesc's layouts, newest first (see CachedWeights),
        // and the phase kernels of BackwardDataByPhases.
        public readonly List<DerivedTensors> ForwardWeights = [], BackwardWeights = [], PhaseKernels = [];
    }

    /// <summary>
    /// Reordered weights kept per plan and direction, least recently used dropped first. One geometry serves several
    /// layers: this backbone's layer4 has five 512x512 convolutions of one geometry, ResNet-34's layer3 eleven. The
    /// calls cycle through them in order, so a bound below their number misses on every call (a bound of 4 reordered
    /// 10 x 9.4 MB of weights on every layer4 forward and backward). A weight changed in place replaces its own entry,
    /// so only weights replaced by new tensors (randomisation tests) fill the rest.
    /// </summary>
    const int WeightsKept = 16;

    /// <summary>Input channels below which the input gradient is computed by <see cref="BackwardDataByPhases"/>.</summary>
    const long FewChannels = 16;

    static long weightReorders, channelsLastConvolutions, phaseInputGradients, winogradConvolutions;

    /// <summary>How many convolutions (forward or backward) ran on Winograd kernels in this process (for tests and the bench).</summary>
    public static long WinogradConvolutions => Interlocked.Read(ref winogradConvolutions);

    /// <summary>How many input gradients <see cref="BackwardDataByPhases"/> computed in this process (for tests).</summary>
    public static long PhaseInputGradients => Interlocked.Read(ref phaseInputGradients);

    /// <summary>How many convolutions (forward or backward) ran on channels-last activations in this process (for tests and the bench).</summary>
    public static long ChannelsLastConvolutions => Interlocked.Read(ref channelsLastConvolutions);

    /// <summary>How many times a weight was reordered into a primitive's layout in this process (cache misses; for tests and the bench).</summary>
    public static long WeightReorders => Interlocked.Read(ref weightReorders);

    static Plan PlanFor(Geometry g) => Plans.GetOrAdd(g, Build);

    static void Check(int status, string what)
    {
        if (status != Success)
            throw new InvalidOperationException($"SystemOneDnn: {what} failed with oneDNN status {status}.");
    }

    static byte* Md(long[] dims, int tag)
    {
        var md = (byte*)NativeMemory.AllocZeroed(MemoryDescBytes);
        fixed (long* d = dims) Check(memoryDescInitByTag(md, dims.Length, d, Float32, tag), "memory descriptor");
        return md;
    }

    /// <summary>The plain layout of N×<paramref name="c"/>×<paramref name="h"/>×<paramref name="w"/> activations: NCHW, or NHWC for a channels-last geometry.</summary>
    static byte* Activations(Geometry g, long c, long h, long w)
    {
        if (!g.ChannelsLast) return Md([g.N, c, h, w], TagAbcd);
        var md = (byte*)NativeMemory.AllocZeroed(MemoryDescBytes);
        long* dims = stackalloc long[] { g.N, c, h, w };
        long* strides = stackalloc long[] { h * w * c, 1, w * c, c };
        Check(memoryDescInitByStrides(md, 4, dims, Float32, strides), "memory descriptor");
        return md;
    }

    static Plan Build(Geometry g)
    {
        lock (Gate)
        {
            if (ompSetNumThreads != null) ompSetNumThreads(g.Threads);
            var plan = new Plan
            {
                UserSrc = Activations(g, g.C, g.H, g.W),
                UserWeights = Md([g.O, g.C, g.KH, g.KW], TagAbcd),
                UserBias = g.Bias ? Md([g.O], TagA) : null,
                UserDst = Activations(g, g.O, g.OH, g.OW),
            };
            IntPtr pd = IntPtr.Zero;
            foreach (int algorithm in g.Winograd ? [ConvolutionWinograd, ConvolutionDirect] : new[] { ConvolutionDirect })
            {
                pd = Primitive(g, IntPtr.Zero, "convolution", algorithm, (op, src, weights, dst, strides, padL, padR) =>
                    Check(convolutionForwardDescInit(op, ForwardTraining, algorithm, src, weights, plan.UserBias, dst, strides, padL, padR), "convolution descriptor"),
                    out plan.Forward);
                plan.Algorithm = algorithm;
                if (pd != IntPtr.Zero) break;
            }
            plan.ForwardDesc = pd;
            plan.Src = primitiveDescQueryMd(pd, QuerySrc, 0);
            plan.Weights = primitiveDescQueryMd(pd, QueryWeights, 0);
            plan.Dst = primitiveDescQueryMd(pd, QueryDst, 0);
            return plan;
        }
    }

    static void BuildBackward(Geometry g, Plan plan)
    {
        // The forward's algorithm (its layouts are the hint); should oneDNN have Winograd one way only, direct.
        IntPtr pd = IntPtr.Zero, primitive = IntPtr.Zero;
        foreach (int algorithm in plan.Algorithm == ConvolutionWinograd ? [ConvolutionWinograd, ConvolutionDirect] : new[] { ConvolutionDirect })
        {
            pd = Primitive(g, algorithm == plan.Algorithm ? plan.ForwardDesc : IntPtr.Zero, "backward-data", algorithm, (op, src, weights, dst, strides, padL, padR) =>
                Check(convolutionBackwardDataDescInit(op, algorithm, src, weights, dst, strides, padL, padR), "backward-data descriptor"),
                out primitive);
            plan.BackwardAlgorithm = algorithm;
            if (pd != IntPtr.Zero) break;
        }
        plan.DiffSrc = primitiveDescQueryMd(pd, QueryDiffSrc, 0);
        plan.BackWeights = primitiveDescQueryMd(pd, QueryWeights, 0);
        plan.DiffDst = primitiveDescQueryMd(pd, QueryDiffDst, 0);
        (plan.BackwardDesc, plan.Backward) = (pd, primitive);
    }

    /// <summary>What an operation descriptor is made from: buffers for it and for the three layouts (format "any"), and the geometry's strides and paddings.</summary>
    delegate void DescribeOperation(byte* op, byte* src, byte* weights, byte* dst, long* strides, long* padL, long* padR);

    /// <summary>
    /// A primitive descriptor and its primitive for the operation <paramref name="describe"/> sets up; oneDNN chooses the
    /// weights' layout and, for NCHW activations or Winograd, theirs. Zero (and no primitive) when oneDNN has no
    /// Winograd kernel for it; any other failure throws.
    /// </summary>
    static IntPtr Primitive(Geometry g, IntPtr hint, string what, int algorithm, DescribeOperation describe, out IntPtr primitive)
    {
        // Channels-last activations go in and out as they are (oneDNN's NHWC kernels); NCHW ones, and any for Winograd
        // (whose kernels take the blocked layout only), are reordered to the layout oneDNN prefers.
        bool nhwc = g.ChannelsLast && algorithm == ConvolutionDirect;
        byte* src = nhwc ? Activations(g, g.C, g.H, g.W) : Md([g.N, g.C, g.H, g.W], TagAny);
        byte* anyWeights = Md([g.O, g.C, g.KH, g.KW], TagAny);
        byte* anyDst = nhwc ? Activations(g, g.O, g.OH, g.OW) : Md([g.N, g.O, g.OH, g.OW], TagAny);
        var op = (byte*)NativeMemory.AllocZeroed(OpDescBytes);
        try
        {
            long* strides = stackalloc long[] { g.Stride, g.Stride };
            long* padL = stackalloc long[] { g.Top, g.Left };
            long* padR = stackalloc long[] { g.Bottom, g.Right };
            describe(op, src, anyWeights, anyDst, strides, padL, padR);
            IntPtr pd, prim;
            int status = primitiveDescCreate(&pd, op, IntPtr.Zero, engine, hint);
            if (status == Unimplemented && algorithm == ConvolutionWinograd) { primitive = IntPtr.Zero; return IntPtr.Zero; }
            Check(status, $"{what} primitive descriptor");
            Check(primitiveCreate(&prim, pd), $"{what} primitive");
            primitive = prim;
            return pd;
        }
        finally
        {
            NativeMemory.Free(op); NativeMemory.Free(src); NativeMemory.Free(anyWeights); NativeMemory.Free(anyDst);
        }
    }

    /// <summary>The reorder from one layout to another (made once per pair of descriptors, which live as long as their plan).</summary>
    static IntPtr Reorder(Plan plan, byte* from, byte* to)
    {
        if (plan.Reorders.TryGetValue(((IntPtr)from, (IntPtr)to), out var r)) return r;
        IntPtr pd, prim;
        Check(reorderPrimitiveDescCreate(&pd, from, engine, to, engine, IntPtr.Zero), "reorder descriptor");
        Check(primitiveCreate(&prim, pd), "reorder primitive");
        return plan.Reorders[((IntPtr)from, (IntPtr)to)] = prim;
    }

    static IntPtr DataOf(Tensor t) => DerivedTensors.DataPointer(t);

    /// <summary>
    /// Whether <paramref name="t"/> (4-D) is laid out channels-last (NHWC in memory, PyTorch's
    /// <c>torch.channels_last</c>) and not also plain NCHW (one channel, or 1x1 maps, are both).
    /// </summary>
    public static bool IsChannelsLast(Tensor t)
    {
        if (t.ndim != 4 || t.is_contiguous()) return false;
        var (s, c, h, w) = (t.stride(), t.shape[1], t.shape[2], t.shape[3]);
        return (c == 1 || s[1] == 1) && (w == 1 || s[3] == c) && (h == 1 || s[2] == w * c) && (t.shape[0] == 1 || s[0] == h * w * c);
    }

    /// <summary><paramref name="t"/> laid out channels-last (itself, as a new handle, when it already is): PyTorch's <c>t.contiguous(memory_format=torch.channels_last)</c>.</summary>
    public static Tensor ChannelsLast(Tensor t)
    {
        using var nhwc = t.permute(0, 2, 3, 1);
        using var dense = nhwc.contiguous();
        return dense.permute(0, 3, 1, 2);
    }

    static Tensor Laid(Tensor t, Geometry g) => g.ChannelsLast ? ChannelsLast(t) : t.contiguous();

    static Tensor EmptyActivations(Geometry g, long c, long h, long w)
    {
        if (!g.ChannelsLast) return empty([g.N, c, h, w], ScalarType.Float32);
        using var nhwc = empty([g.N, h, w, c], ScalarType.Float32);
        return nhwc.permute(0, 3, 1, 2);
    }

    /// <summary>
    /// Memory for <paramref name="md"/>: the tensor's own storage when <paramref name="plain"/> is the same layout,
    /// else a scratch tensor (kept alive by <paramref name="keep"/>) that <paramref name="user"/> is reordered into
    /// when <paramref name="copyIn"/>.
    /// </summary>
    static IntPtr Bound(Plan plan, byte* md, byte* plain, Tensor user, bool copyIn, List<IntPtr> memories, List<Tensor> keep, out IntPtr userMemory)
    {
        IntPtr u;
        Check(memoryCreate(&u, plain, engine, DataOf(user)), "memory");
        memories.Add(u);
        userMemory = u;
        if (memoryDescEqual(md, plain) != 0) return u;
        var scratch = empty([(long)memoryDescGetSize(md)], ScalarType.Int8);
        keep.Add(scratch);
        IntPtr m;
        Check(memoryCreate(&m, md, engine, DataOf(scratch)), "memory");
        memories.Add(m);
        if (copyIn) Execute(Reorder(plan, plain, md), [new() { Arg = ArgFrom, Memory = u }, new() { Arg = ArgTo, Memory = m }]);
        return m;
    }

    /// <summary>
    /// Memory holding <paramref name="w"/> in the layout <paramref name="md"/>: a frozen model's weights are reordered
    /// once and reused while they are unchanged (<see cref="DerivedTensors"/>: same storage, same version counter),
    /// instead of on every call as ideep does.
    /// </summary>
    static IntPtr CachedWeights(Plan plan, byte* md, Tensor w, List<DerivedTensors> cache, List<IntPtr> memories, List<Tensor> keep)
    {
        if (memoryDescEqual(md, plan.UserWeights) != 0 || !DerivedTensors.Available)
            return Bound(plan, md, plan.UserWeights, w, true, memories, keep, out _);
        var entry = Recall(cache, w, () =>
        {
            Interlocked.Increment(ref weightReorders);
            var blocked = empty([(long)memoryDescGetSize(md)], ScalarType.Int8);
            IntPtr from, to;
            Check(memoryCreate(&from, plan.UserWeights, engine, DataOf(w)), "memory");
            Check(memoryCreate(&to, md, engine, DataOf(blocked)), "memory");
            try { Execute(Reorder(plan, plan.UserWeights, md), [new() { Arg = ArgFrom, Memory = from }, new() { Arg = ArgTo, Memory = to }]); }
            finally { memoryDestroy(from); memoryDestroy(to); }
            return blocked;
        });
        IntPtr m;
        Check(memoryCreate(&m, md, engine, DataOf(entry.Values[0])), "memory");
        memories.Add(m);
        return m;
    }

    /// <summary>
    /// The entry of <paramref name="cache"/> (newest first, at most <see cref="WeightsKept"/>) derived from
    /// <paramref name="weight"/> as it is now, moved to the front; on a miss <paramref name="derive"/> makes it, and an
    /// entry for the same storage is dropped (the weight changed in place: it can never match again). Callers hold the lock.
    /// </summary>
    static DerivedTensors Recall(List<DerivedTensors> cache, Tensor weight, Func<Tensor> derive)
    {
        Tensor[] source = [weight];
        int hit = cache.FindIndex(e => e.Matches(source));
        DerivedTensors? entry = hit >= 0 ? cache[hit] : null;
        if (hit >= 0) cache.RemoveAt(hit);
        else
        {
            foreach (var stale in cache.Where(e => e.SameStorage(source)).ToList()) { stale.Dispose(); cache.Remove(stale); }
            DerivedTensors.GetOrCompute(ref entry, source, () => [derive()]);
            if (cache.Count >= WeightsKept) { cache[^1].Dispose(); cache.RemoveAt(cache.Count - 1); }
        }
        cache.Insert(0, entry!);
        return entry!;
    }

    static void Execute(IntPtr primitive, ExecArg[] args)
    {
        fixed (ExecArg* a = args) Check(primitiveExecute(primitive, stream, args.Length, a), "execute");
        Check(streamWait(stream), "stream wait");
    }

    static Tensor Forward(Geometry g, Tensor input, Tensor weight, Tensor? bias)
    {
        var plan = PlanFor(g);
        using var x = Laid(input, g);
        using var w = weight.contiguous();
        using var b = bias?.contiguous();
        return Run(g, EmptyActivations(g, g.O, g.OH, g.OW), (y, memories, keep) =>
        {
            var src = Bound(plan, plan.Src, plan.UserSrc, x, true, memories, keep, out _);
            var wts = CachedWeights(plan, plan.Weights, w, plan.ForwardWeights, memories, keep);
            var dst = Bound(plan, plan.Dst, plan.UserDst, y, false, memories, keep, out var userDst);
            var args = new List<ExecArg> { new() { Arg = ArgSrc, Memory = src }, new() { Arg = ArgWeights, Memory = wts }, new() { Arg = ArgDst, Memory = dst } };
            if (b is not null)
            {
                IntPtr bm;
                Check(memoryCreate(&bm, plan.UserBias, engine, DataOf(b)), "memory");
                memories.Add(bm);
                args.Add(new() { Arg = ArgBias, Memory = bm });
            }
            if (plan.Algorithm == ConvolutionWinograd) Interlocked.Increment(ref winogradConvolutions);
            Execute(plan.Forward, args.ToArray());
            if (dst != userDst) Execute(Reorder(plan, plan.Dst, plan.UserDst), [new() { Arg = ArgFrom, Memory = dst }, new() { Arg = ArgTo, Memory = userDst }]);
        });
    }

    static Tensor BackwardData(Geometry g, Tensor gradOutput, Tensor weight)
    {
        var plan = PlanFor(g);
        if (g.C < FewChannels) return BackwardDataByPhases(g, plan, gradOutput, weight);
        using var dy = Laid(gradOutput, g);
        using var w = weight.contiguous();
        return Run(g, EmptyActivations(g, g.C, g.H, g.W), (dx, memories, keep) =>
        {
            if (plan.Backward == IntPtr.Zero) BuildBackward(g, plan);
            var diffDst = Bound(plan, plan.DiffDst, plan.UserDst, dy, true, memories, keep, out _);
            var wts = CachedWeights(plan, plan.BackWeights, w, plan.BackwardWeights, memories, keep);
            var diffSrc = Bound(plan, plan.DiffSrc, plan.UserSrc, dx, false, memories, keep, out var userDiffSrc);
            if (plan.BackwardAlgorithm == ConvolutionWinograd) Interlocked.Increment(ref winogradConvolutions);
            Execute(plan.Backward, [new() { Arg = ArgDiffDst, Memory = diffDst }, new() { Arg = ArgWeights, Memory = wts }, new() { Arg = ArgDiffSrc, Memory = diffSrc }]);
            if (diffSrc != userDiffSrc) Execute(Reorder(plan, plan.DiffSrc, plan.UserSrc), [new() { Arg = ArgFrom, Memory = diffSrc }, new() { Arg = ArgTo, Memory = userDiffSrc }]);
        });
    }

    /// <summary>
    /// The input gradient of a convolution over few input channels (the stem's 3) as a forward convolution. oneDNN's
    /// own backward kernels vectorise over input channels, so with 3 of them they crawl: 18 ms for the stem at batch 5,
    /// 224 px, channels-last; its GEMM kernel takes 7.4 ms there and runs on one thread at batch 1. Split the padded
    /// input into its s² phases (s the stride: rows s·a + p, columns s·b + q); then
    /// <c>∂x[c, s·a+p, s·b+q] = Σ_{o,m,n} W[o, c, s·m+p, s·n+q] · ∂y[o, a−m, b−n]</c>, which is a stride-1 convolution of
    /// ∂y (O channels in) with the flipped kernels of the phases (C·s² channels out, ⌈k/s⌉ taps a side, zero where
    /// s·m+p ≥ k). oneDNN's forward kernels run it (here 4x4 over 64 channels: its best case), <c>pixel_shuffle</c>
    /// interleaves the phases, and the padding is cut off.
    /// </summary>
    static Tensor BackwardDataByPhases(Geometry g, Plan plan, Tensor gradOutput, Tensor weight)
    {
        Interlocked.Increment(ref phaseInputGradients);
        long s = g.Stride, mh = (g.KH + s - 1) / s, mw = (g.KW + s - 1) / s;
        long a = (g.H + g.Top + g.Bottom + s - 1) / s, b = (g.W + g.Left + g.Right + s - 1) / s;   // phase rows, columns
        var phases = new Geometry(g.N, g.O, g.OH, g.OW, g.C * s * s, mh, mw, 1, mh - 1, a - g.OH, mw - 1, b - g.OW, false, g.ChannelsLast)
            { Threads = g.Threads };
        using var uncached = DerivedTensors.Available ? null : PhaseKernel(weight, s, mh, mw);
        var kernel = uncached ?? CachedPhaseKernel(plan, weight, s, mh, mw);
        using var dxPhases = Forward(phases, gradOutput, kernel, null);            // N × C·s² × a × b
        using var dxPadded = F.pixel_shuffle(dxPhases, s);                         // N × C × s·a × s·b
        using var dxRows = dxPadded.narrow(2, g.Top, g.H);
        using var dx = dxRows.narrow(3, g.Left, g.W);
        return EmptyActivations(g, g.C, g.H, g.W).copy_(dx);
    }

    /// <summary>
    /// The kernel of <see cref="BackwardDataByPhases"/>: <c>K[c·s²+p·s+q, o, m', n'] = W[o, c, s·(mh−1−m')+p, s·(mw−1−n')+q]</c>,
    /// 0 outside W.
    /// </summary>
    static Tensor PhaseKernel(Tensor weight, long s, long mh, long mw)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (o, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3]);
        var padded = F.pad(weight, [0, s * mw - kw, 0, s * mh - kh]);          // O × C × s·mh × s·mw
        var k = padded.reshape(o, c, mh, s, mw, s).flip(2, 4).permute(1, 3, 5, 0, 2, 4).reshape(c * s * s, o, mh, mw);
        return k.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary><see cref="PhaseKernel"/> of <paramref name="weight"/>, computed once while the weight is unchanged (as <see cref="CachedWeights"/>); owned by the plan.</summary>
    static Tensor CachedPhaseKernel(Plan plan, Tensor weight, long s, long mh, long mw)
    {
        lock (plan.PhaseKernels) return Recall(plan.PhaseKernels, weight, () => PhaseKernel(weight, s, mh, mw)).Values[0];
    }

    /// <summary>
    /// Runs <paramref name="body"/> (which fills <paramref name="result"/>) under the lock, with the plan's thread count,
    /// then frees the oneDNN memory objects and scratch tensors it made; <paramref name="result"/> is disposed if it throws.
    /// </summary>
    static Tensor Run(Geometry g, Tensor result, Action<Tensor, List<IntPtr>, List<Tensor>> body)
    {
        if (g.ChannelsLast) Interlocked.Increment(ref channelsLastConvolutions);
        var memories = new List<IntPtr>();
        var keep = new List<Tensor>();
        lock (Gate)
        {
            try
            {
                if (ompSetNumThreads != null) ompSetNumThreads(g.Threads);
                body(result, memories, keep);
            }
            catch { result.Dispose(); throw; }
            finally
            {
                foreach (var m in memories) memoryDestroy(m);
                foreach (var t in keep) t.Dispose();
            }
        }
        return result;
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "SystemOneDnnConv2d";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (input, weight, bias, geometry) = ((Tensor)vars[0], (Tensor)vars[1], vars[2] as Tensor, (Geometry)vars[3]);
            ctx.save_for_backward([weight]);
            ctx.save_data("geometry", geometry);
            return Forward(geometry, input, weight, bias);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var weight = ctx.get_saved_variables()[0];
            var geometry = (Geometry)ctx.get_data("geometry");
            // One entry per argument of apply: only the input gets a gradient (see conv2d).
            return [BackwardData(geometry, grad_output, weight), null!, null!, null!];
        }
    }
}
