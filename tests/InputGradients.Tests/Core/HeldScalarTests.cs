using InputGradients.Core;
using Mono.Cecil;
using Mono.Cecil.Cil;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Core;

/// <summary>
/// TorchSharp 0.107 hands libtorch numbers as Scalars that nothing holds during the native call, so a collection on
/// another thread can free one while libtorch reads it (see <see cref="HeldScalars"/>). These tests keep the shipped
/// code off those entry points, by reading its IL, and check that the held forms compute what the operators did.
/// </summary>
public class HeldScalarTests
{
    // ---- the IL scan ----

    /// <summary>
    /// Every call site, in <paramref name="assembly"/>'s types accepted by <paramref name="include"/>, that makes a
    /// Scalar nothing holds: a conversion of a number to a Scalar outside <see cref="HeldScalars"/>, or a call to a
    /// TorchSharp method that makes one itself (directly or through other TorchSharp methods it calls).
    /// </summary>
    static List<string> UnheldScalarSites(string assembly, Func<TypeDefinition, bool>? include = null)
    {
        using var module = ModuleDefinition.ReadModule(assembly, new ReaderParameters { ReadSymbols = File.Exists(Path.ChangeExtension(assembly, ".pdb")) });
        var sites = new List<string>();
        foreach (var type in module.GetTypes().Where(t => include?.Invoke(t) ?? true))
        {
            if (Outermost(type).FullName == typeof(HeldScalars).FullName) continue;
            foreach (var method in type.Methods.Where(m => m.HasBody))
                foreach (var i in method.Body.Instructions)
                    if (i.Operand is MethodReference callee && (MakesScalar(callee) || TorchSharpUnheld.Value.Contains(Key(callee))))
                    {
                        var at = method.DebugInformation.HasSequencePoints
                            ? method.Body.Instructions.TakeWhile(x => x != i).Append(i).Select(method.DebugInformation.GetSequencePoint).LastOrDefault(p => p is not null)
                            : null;
                        var where = at is null ? $"{type.FullName}::{method.Name}" : $"{Path.GetFileName(at.Document.Url)}:{at.StartLine}";
                        sites.Add($"{where} calls {callee.DeclaringType.Name}::{callee.Name}({string.Join(", ", callee.Parameters.Select(p => p.ParameterType.Name))})");
                    }
        }
        return sites;
    }

    static TypeDefinition Outermost(TypeDefinition t) => t.DeclaringType is null ? t : Outermost(t.DeclaringType);

    static bool MakesScalar(MethodReference m) =>
        m.ReturnType.FullName == "TorchSharp.Scalar" && m.Name is "op_Implicit" or "ToScalar";

    static string Key(MethodReference m) => (m is GenericInstanceMethod g ? g.ElementMethod : m).FullName;

    /// <summary>
    /// TorchSharp's own methods that make a Scalar and never dispose one (e.g. <c>Tensor.add(Tensor)</c>, which passes an
    /// alpha of 1), and every TorchSharp method that calls one of those, to any depth.
    /// </summary>
    static readonly Lazy<HashSet<string>> TorchSharpUnheld = new(() =>
    {
        using var torchSharp = ModuleDefinition.ReadModule(typeof(torch).Assembly.Location);
        var methods = torchSharp.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody).ToList();
        var calls = methods.ToDictionary(m => m.FullName, m => m.Body.Instructions.Select(i => i.Operand).OfType<MethodReference>().ToList());
        var unheld = methods
            .Where(m => calls[m.FullName].Any(MakesScalar) && !calls[m.FullName].Any(c => c.Name == "Dispose" && c.DeclaringType.FullName == "TorchSharp.Scalar"))
            .Select(m => m.FullName).ToHashSet();
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var m in methods)
                if (!unheld.Contains(m.FullName) && calls[m.FullName].Any(c => unheld.Contains(Key(c))))
                    grew = unheld.Add(m.FullName) | grew;
        }
        return unheld;
    });

    static string Built(string project, string file)
    {
        // Tests run from artifacts/bin/InputGradients.Tests/<configuration>/; the tools are built beside them.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(here.Parent!.Parent!.FullName, project, here.Name, file);
        Assert.True(File.Exists(path), $"{path} is not built; build Notebooks.sln first.");
        return path;
    }

    public static TheoryData<string> Shipped => new()
    {
        typeof(HeldScalars).Assembly.Location,                                      // lib/InputGradients
        typeof(InputGradients.Interactive.Notebook).Assembly.Location,              // lib/InputGradients.Interactive
        Built("InputGradients.Cli", "inputgrad.dll"),
        Built("TrainFashionMnist", "TrainFashionMnist.dll"),
    };

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Shipped_code_hands_libtorch_no_scalar_that_nothing_holds(string assembly)
    {
        var sites = UnheldScalarSites(assembly);
        Assert.True(sites.Count == 0,
            $"{Path.GetFileName(assembly)}: {sites.Count} call(s) make a Scalar that nothing holds during the native call; use HeldScalars (x.mul_scalar(2), a.add_tensor(b), x.clamp_scalar(0, 1), ...):\n"
            + string.Join("\n", sites));
    }

    // Fixtures for the scan: what it must find, and what it must pass.
    static class Unheld
    {
        public static Tensor Times(Tensor x) => x * 2.0;
        public static Tensor Sum(Tensor a, Tensor b) => a + b;           // TorchSharp's add(Tensor) passes alpha = 1
        public static Tensor Clamp(Tensor x) => x.clamp(0, 1);          // the caller converts 0 and 1
        public static Tensor Square(Tensor x) => x.square();            // TorchSharp's square() is pow(2)
        public static double Value(Tensor x) => x.ToDouble();
    }

    static class Held
    {
        public static Tensor Times(Tensor x) => x.mul_scalar(2.0);
        public static Tensor Sum(Tensor a, Tensor b) => a.add_tensor(b);
        public static Tensor Clamp(Tensor x) => x.clamp_scalar(0, 1);
        public static Tensor Square(Tensor x) => x * x;
        public static double Value(Tensor x) => x.to_double();
    }

    [Fact]
    public void The_scan_finds_each_unheld_form_and_passes_the_held_ones()
    {
        var here = typeof(HeldScalarTests).Assembly.Location;
        var found = UnheldScalarSites(here, t => t.Name == nameof(Unheld) && t.DeclaringType?.Name == nameof(HeldScalarTests));
        Assert.Contains(found, s => s.Contains("op_Multiply(Tensor, Double)"));
        Assert.Contains(found, s => s.Contains("op_Addition(Tensor, Tensor)"));
        Assert.Equal(2, found.Count(s => s.Contains("Scalar::op_Implicit(Int32)")));
        Assert.Contains(found, s => s.Contains("square()"));
        Assert.Contains(found, s => s.Contains("ToDouble(Tensor)"));
        Assert.Equal(6, found.Count);
        Assert.All(found, s => Assert.Matches(@"^HeldScalarTests\.cs:\d+ calls ", s));

        Assert.Empty(UnheldScalarSites(here, t => t.Name == nameof(Held) && t.DeclaringType?.Name == nameof(HeldScalarTests)));
    }

    // ---- what each held form computes ----

    [Fact]
    public void Held_forms_compute_what_the_operators_compute()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new[] { -2.5, -1, 0, 0.5, 3 });
        var y = tensor(new[] { 1.0, 2, -3, 4, 0.25 });
        double[] X = [-2.5, -1, 0, 0.5, 3], Y = [1.0, 2, -3, 4, 0.25];
        void Same(Func<double, double, double> f, Tensor t)
        {
            var got = t.data<double>().ToArray();
            for (int i = 0; i < X.Length; i++) Assert.Equal(f(X[i], Y[i]), got[i], 12);
        }
        Same((a, b) => a + b, x.add_tensor(y));
        Same((a, b) => a - 0.5 * b, x.add_tensor(y, -0.5));
        Same((a, _) => a + 1.5, x.add_scalar(1.5));
        Same((a, _) => a - 1.5, x.sub_scalar(1.5));
        Same((a, _) => 1 - a, x.rsub_scalar(1));
        Same((a, _) => a * 3, x.mul_scalar(3.0));
        Same((a, _) => a / 4, x.div_scalar(4));
        Same((a, _) => a * a * a, x.pow_scalar(3));
        Same((a, _) => Math.Clamp(a, -1, 0.75), x.clamp_scalar(-1, 0.75));
        Same((a, _) => Math.Max(a, 0), x.clamp_scalar(0, null));
        Same((a, _) => Math.Min(a, 0), x.clamp_scalar(null, 0));
        Same((a, b) => a + 2 * a * b, x.clone().addcmul_scalar_(x, y, 2));
        Same((a, b) => a - a / b, x.clone().addcdiv_scalar_(x, y, -1));
        Same((a, b) => a + b, x.clone().add_tensor_(y));
        Same((a, _) => a * -2, x.clone().mul_scalar_(-2));
        Same((a, _) => a / 8, x.clone().div_scalar_(8));
        Same((a, _) => a + 0.25, x.clone().add_scalar_(0.25));
        Same((_, _) => 7, x.clone().fill_scalar_(7.0));
        Same((a, _) => a != 0 ? 1 : 0, x.ne_scalar(0).to_type(ScalarType.Float64));
        Same((a, _) => a > 0.5 ? 1 : 0, x.gt_scalar(0.5).to_type(ScalarType.Float64));
        Same((a, _) => a < -1 ? 1 : 0, x.lt_scalar(-1).to_type(ScalarType.Float64));
        var total = zeros(2, dtype: ScalarType.Float64).index_add_tensor_(0, tensor(new long[] { 1, 0, 1, 1, 0 }), x);
        Assert.Equal(new[] { -1 + 3, -2.5 + 0 + 0.5 }, total.data<double>().ToArray());

        // Integers stay integers, as with the operators.
        var n = tensor(new long[] { 1, 2, 3 });
        Assert.Equal(ScalarType.Int64, n.add_scalar(1).dtype);
        Assert.Equal(new long[] { 3, 6, 9 }, n.mul_scalar(3).data<long>().ToArray());
        Assert.Equal(ScalarType.Float32, tensor(new float[] { 1 }).mul_scalar(0.1).dtype);
        Assert.Equal(new byte[] { 255, 255 }, HeldScalars.filled([2], 255, ScalarType.Byte).data<byte>().ToArray());

        Assert.Equal(6.0, tensor(6L).to_double());
        Assert.Equal(0.1f, tensor(0.1f).to_double());
        Assert.Throws<ArgumentException>(() => x.to_double());
    }
}
