using InputGradients.Core;
using InputGradients.Synthesis;
using InputGradients.Tests.Attribution;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Synthesis;

/// <summary>The parts of synthesis: objectives, transforms, parameterisations, input spaces and the ascent loop.</summary>
public class SynthesisPartsTests
{
    static Tensor Noise(long n, long seed, long size = 8)
    {
        using var g = new torch.Generator((ulong)seed);
        return torch.randn(new[] { n, 3L, size, size }, dtype: ScalarType.Float64, generator: g);
    }

    public static IEnumerable<object[]> Objectives() => new[] {
        new object[] { "class" }, new object[] { "channel" }, new object[] { "neuron" }, new object[] { "direction" },
        new object[] { "diversity" }, new object[] { "minus L2" }, new object[] { "combined" },
    };

    static Objective Make(string name) => name switch
    {
        "class" => Objective.ClassLogit(2),
        "channel" => Objective.Channel("block", 1),
        "neuron" => Objective.Neuron("block", 4),
        "direction" => Objective.Direction("block", torch.tensor(new double[] { 1, -1, 0.5, 0, 2, -0.5 })),
        "diversity" => Objective.Diversity("block"),
        "minus L2" => -Objective.L2(),
        _ => Objective.ClassLogit(0) + 0.5 * Objective.Channel("block", 3) - 1e-3 * Objective.L2(),
    };

    [Theory]
    [MemberData(nameof(Objectives))]
    public void Each_objective_rises_over_five_Adam_steps_on_a_tiny_model(string name)
    {
        var model = RefNet.Load();
        var objective = Make(name);
        using var x = Noise(2, 3);
        using var p = new PixelImage(x);
        double before = Ascent.evaluate(model, objective, x);
        using var r = Ascent.run(model, objective, p, new AscentOptions { Iterations = 5, Optimizer = AscentOptimizer.Adam, LearningRate = 0.05 });
        double after = Ascent.evaluate(model, objective, r.Input);
        Assert.True(after > before, $"{objective.Description}: {before} → {after}");
        Assert.Equal(5, r.Steps);
        Assert.Equal(before, r.Objectives[0], 10);
    }

    [Fact]
    public void Objective_arithmetic_is_the_arithmetic_of_the_values_and_reads_well()
    {
        var model = RefNet.Load();
        using var x = Noise(2, 5);
        var a = Objective.ClassLogit(1);
        var b = Objective.Channel("block", 2);
        var c = 2 * a - b / 4;
        double va = Ascent.evaluate(model, a, x), vb = Ascent.evaluate(model, b, x);
        Assert.Equal(2 * va - vb / 4, Ascent.evaluate(model, c, x), 10);
        Assert.Equal(-va, Ascent.evaluate(model, -a, x), 10);
        Assert.Equal("2·(logit of class 1) − 0.25·(channel 2 of block)", c.Description);
        Assert.Equal(new[] { "block" }, c.Layers);
        Assert.True(c.NeedsOutput);
        Assert.Equal(("block", 2L), b.ChannelTarget);
        Assert.Equal(1L, a.ClassTarget);
        // One example's objective reads that example only; the sum over examples is the plain objective.
        double v0 = Ascent.evaluate(model, a.ForExample(0), x), v1 = Ascent.evaluate(model, a.ForExample(1), x);
        Assert.Equal(va, v0 + v1, 10);
        using var out0 = model.call(x.narrow(0, 0, 1));
        Assert.Equal(out0[0, 1].item<double>(), v0, 12);
    }

    [Fact]
    public void Diversity_is_zero_for_identical_images_and_minus_the_gram_similarity_by_hand()
    {
        // Two examples with one channel each: G_i = ‖f_i‖², normalised to 1, so ⟨G_0, G_1⟩ = 1 and diversity = −(1 + 1)/2.
        var acts = new Activations(torch.zeros(2, 1, 1, 1), null,
            new Dictionary<string, Tensor> { ["l"] = torch.tensor(new double[] { 1, 2, 3, 4, 5, 6, 7, 8 }).view(2, 1, 2, 2) });
        Assert.Equal(-1.0, Objective.Diversity("l").evaluate(acts).item<double>(), 12);
        // Orthogonal Gram matrices (2 channels, each example active in a different one): diversity 0.
        var ortho = new Activations(torch.zeros(2, 1, 1, 1), null,
            new Dictionary<string, Tensor> { ["l"] = torch.tensor(new double[] { 1, 0, 0, 3 }).view(2, 2, 1, 1) });
        Assert.Equal(0.0, Objective.Diversity("l").evaluate(ortho).item<double>(), 12);
    }

    [Fact]
    public void Bad_objectives_give_one_line_errors()
    {
        var model = RefNet.Load();
        using var x = Noise(1, 1);
        var e = Assert.Throws<ArgumentException>(() => Ascent.evaluate(model, Objective.Channel("block", 99), x));
        Assert.Contains("channel 99 does not exist", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Objective.ClassLogit(-1));
        var e2 = Assert.Throws<ArgumentException>(() => Ascent.evaluate(model, Objective.ClassLogit(7), x));
        Assert.Contains("class 7 does not exist", e2.Message);
        using var p = new PixelImage(Noise(2, 1));
        var e3 = Assert.Throws<ArgumentException>(() => Ascent.run(model, new[] { Objective.ClassLogit(0) }, p));
        Assert.Contains("1 objectives for a batch of 2", e3.Message);
    }

    // ---- transforms: exact on tiny tensors, expected values by hand ----

    static Tensor Grid3() => torch.arange(9, dtype: ScalarType.Float64).view(1, 1, 3, 3);   // 0 1 2 / 3 4 5 / 6 7 8

    static void Same(double[] expected, Tensor actual)
    {
        using var flat = actual.contiguous().view(-1);
        Assert.Equal(expected, flat.data<double>().ToArray());
    }

    [Fact]
    public void Roll_shifts_columns_then_rows_circularly()
    {
        using var r = Transform.roll(Grid3(), 1, 2);   // one column right, two rows down
        Same(new double[] { 5, 3, 4, 8, 6, 7, 2, 0, 1 }, r);
    }

    [Fact]
    public void Crop_takes_the_window()
    {
        using var r = Transform.crop(Grid3(), 1, 0, 2, 2);
        Same(new double[] { 3, 4, 6, 7 }, r);
        Assert.Throws<ArgumentException>(() => Transform.crop(Grid3(), 2, 2, 2, 2));
    }

    [Fact]
    public void Pad_reflects_the_border()
    {
        using var x = torch.tensor(new double[] { 1, 2, 3, 4 }).view(1, 1, 2, 2);
        using var r = Transform.Pad(1).apply(x, new Random(0));
        // Reflection without repeating the edge: row 1 2 becomes 2 1 2 1; rows reflect the same way.
        Same(new double[] { 4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1 }, r);
    }

    [Fact]
    public void Scale_by_two_is_bilinear_with_half_pixel_centres()
    {
        using var x = torch.tensor(new double[] { 0, 1, 2, 3 }).view(1, 1, 2, 2);   // value = 2·row + column
        using var r = Transform.scale(x, 2);
        // Output pixel i samples input coordinate (i + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
        double[] t = { 0, 0.25, 0.75, 1 };
        Same(t.SelectMany(row => t.Select(col => 2 * row + col)).ToArray(), r);
    }

    [Fact]
    public void Rotate_by_right_angles_moves_pixels_exactly()
    {
        using var r90 = Transform.rotate(Grid3(), 90);    // counter-clockwise as displayed: the right column goes to the top
        using var close = r90.round();
        Assert.True(torch.allclose(r90, close, 0, 1e-12));
        Same(new double[] { 2, 5, 8, 1, 4, 7, 0, 3, 6 }, close);
        using var r180 = Transform.rotate(Grid3(), 180).round();
        Same(new double[] { 8, 7, 6, 5, 4, 3, 2, 1, 0 }, r180);
    }

    [Fact]
    public void Compose_applies_in_order_and_random_choices_come_from_the_given_generator()
    {
        var t = Transform.Compose(Transform.Pad(1), Transform.Jitter(2));
        using var a = t.apply(Grid3(), new Random(7));
        using var b = t.apply(Grid3(), new Random(7));
        Assert.Equal(new long[] { 1, 1, 3, 3 }, a.shape);   // 3 + 2 − 2
        Assert.True(torch.allclose(a, b, 0, 0));
        // Jitter 2 after pad 1 crops at offset (dy, dx) ∈ {0,1}²: the window is the padded grid's at that offset.
        var rng = new Random(7);
        int dx = rng.Next(0, 2), dy = rng.Next(0, 2);
        using var padded = Transform.Pad(1).apply(Grid3(), new Random(0));
        using var expected = Transform.crop(padded, dy, dx, 3, 3);
        Assert.True(torch.allclose(a, expected, 0, 0));
    }

    // ---- parameterisations and input spaces ----

    [Theory]
    [InlineData(3, 8, 8, true)]
    [InlineData(3, 6, 9, true)]
    [InlineData(3, 8, 8, false)]
    [InlineData(1, 7, 8, true)]
    public void Fourier_image_round_trips(int channels, int h, int w, bool decorrelate)
    {
        var space = channels == 3 ? InputSpace.ImageNet : InputSpace.Grey(0.3, 0.4);
        using var p = new FourierImage(space, 2, h, w, seed: 1, decorrelate: decorrelate, dtype: ScalarType.Float64);
        using var g = new torch.Generator(11);
        using var target = torch.rand(new long[] { 2, channels, h, w }, dtype: ScalarType.Float64, generator: g) * 0.9 + 0.05;
        p.set_image(target);
        using var back = p.image();
        Assert.True(torch.allclose(back, target, 0, 1e-9), $"max error {(back - target).abs().max().item<double>()}");
        using var input = p.input();
        using var expected = space.from_image(target);
        Assert.True(torch.allclose(input, expected, 0, 1e-8));
    }

    [Fact]
    public void Fourier_scaling_is_one_over_frequency_with_the_floor_by_hand()
    {
        using var s = FourierImage.Frequencies(4, 4, 1, ScalarType.Float64).view(4, 3);
        // fy ∈ {0, 1/4, −1/2, −1/4} by row, fx ∈ {0, 1/4, 1/2} by column; floor 1/4.
        double[,] f = { { 0, 0.25, 0.5 }, { 0.25, Math.Sqrt(2) / 4, Math.Sqrt(0.3125) }, { 0.5, Math.Sqrt(0.3125), Math.Sqrt(0.5) }, { 0.25, Math.Sqrt(2) / 4, Math.Sqrt(0.3125) } };
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(1 / Math.Max(f[i, j], 0.25), s[i, j].item<double>(), 12);
        using var m = FourierImage.ColourMatrix(ScalarType.Float64);
        using var norms = m.norm(0);   // column norms: the largest is 1
        Assert.Equal(1.0, norms.max().item<double>(), 12);
    }

    [Fact]
    public void A_fresh_Fourier_image_starts_near_mid_grey()
    {
        using var p = Parameterization.Fourier(InputSpace.ImageNet, 1, 16, 16, seed: 2);
        using var img = p.image();
        Assert.True((img - 0.5).abs().max().item<float>() < 0.05f);
    }

    [Fact]
    public void Input_spaces_map_by_hand_and_round_trip()
    {
        var bgr = InputSpace.Bgr255(new double[] { 10, 20, 30 });
        using var rgb = torch.tensor(new double[] { 1, 0.5, 0 }).view(1, 3, 1, 1);
        using var x = bgr.from_image(rgb);
        Same(new double[] { 0 * 255 - 10, 127.5 - 20, 255 - 30 }, x);   // B, G, R minus the means
        using var back = bgr.to_image(x);
        Same(new double[] { 1, 0.5, 0 }, back);
        Assert.Equal(new double[] { -10, -20, -30 }, bgr.Low);
        Assert.Equal(new double[] { 245, 235, 225 }, bgr.High);
        Assert.Equal(255 * 0.226, bgr.UnitScale, 9);
        Assert.Equal(1.0, InputSpace.ImageNet.UnitScale, 2);
        var grey = InputSpace.Grey(0.25, 0.5);
        using var gx = grey.from_image(torch.tensor(new double[] { 0, 1 }).view(2, 1, 1, 1));
        Same(new double[] { -0.5, 1.5 }, gx);
        using var clamped = grey.clamp(torch.tensor(new double[] { -3, 0.2, 9 }).view(3, 1, 1, 1));
        Same(new double[] { -0.5, 0.2, 1.5 }, clamped);
        var e = Assert.Throws<ArgumentException>(() => grey.from_image(rgb));
        Assert.Contains("expected N×1×H×W", e.Message);
        Assert.Throws<ArgumentException>(() => new InputSpace("bad", 1, new double[] { 0, 0 }, new double[] { 1, 1 }, new[] { 0, 0 }));
    }

    [Fact]
    public void Fashion_space_matches_its_normalisation()
    {
        using var g = new torch.Generator(3);
        using var img = torch.rand(new long[] { 2, 1, 28, 28 }, generator: g);
        using var a = InputGradients.Models.FashionMnistNet.Space.from_image(img);
        using var b = InputGradients.Models.FashionMnistNet.Normalize(img);
        Assert.True(torch.allclose(a, b, 1e-6, 1e-6));
    }

    [Fact]
    public void Pixel_budget_keeps_every_value_within_epsilon_and_the_valid_range()
    {
        var model = RefNet.Load();
        var space = InputSpace.Grey(0.5, 0.5);   // valid −1..1 on one channel: use a 3-channel copy
        var rgb = new InputSpace("test", 1, new double[] { 0.5, 0.5, 0.5 }, new double[] { 0.5, 0.5, 0.5 });
        using var x = Noise(1, 4).clamp(-1, 1);
        using var p = new PixelImage(x, rgb, rgb.Low, rgb.High, budget: 0.1);
        using var r = Ascent.run(model, Objective.ClassLogit(3), p, new AscentOptions { Iterations = 20, Optimizer = AscentOptimizer.SGD, LearningRate = 1, NormalizeGradient = true });
        Assert.True((r.Input - x).abs().max().item<double>() <= 0.1 + 1e-12);
        Assert.True(r.Input.min().item<double>() >= -1 - 1e-12 && r.Input.max().item<double>() <= 1 + 1e-12);
        Assert.True(Ascent.evaluate(model, Objective.ClassLogit(3), r.Input) > Ascent.evaluate(model, Objective.ClassLogit(3), x));
        Assert.Equal(1, space.Channels);
    }

    // ---- the loop ----

    [Theory]
    [InlineData(AscentOptimizer.Adam, false)]
    [InlineData(AscentOptimizer.SGD, true)]
    public void Batched_ascent_equals_one_image_at_a_time(AscentOptimizer optimizer, bool normalize)
    {
        var model = RefNet.Load();
        var goals = new[] { Objective.ClassLogit(1), Objective.Channel("block", 2) - 1e-3 * Objective.L2() };
        using var x = Noise(2, 8);
        var options = new AscentOptions {
            Iterations = 6, Optimizer = optimizer, LearningRate = 0.1, NormalizeGradient = normalize, Seed = 5,
            Transform = Transform.Compose(Transform.Roll(2), Transform.RandomRotate(-10, 0, 10)),
        };
        using var pb = new PixelImage(x, null, new[] { -2.0, -2, -2 }, new[] { 2.0, 2, 2 }, blurEvery: 3);
        using var batched = Ascent.run(model, goals, pb, options);
        for (int i = 0; i < 2; i++) {
            using var xi = x.narrow(0, i, 1);
            using var pi = new PixelImage(xi, null, new[] { -2.0, -2, -2 }, new[] { 2.0, 2, 2 }, blurEvery: 3);
            using var alone = Ascent.run(model, goals[i], pi, options);
            using var mine = batched.Input.narrow(0, i, 1);
            Assert.True(torch.allclose(mine, alone.Input, 1e-9, 1e-9), $"image {i}: max difference {(mine - alone.Input).abs().max().item<double>()}");
        }
    }

    [Fact]
    public void Stop_when_stops_before_the_step_and_progress_sees_every_step()
    {
        var model = RefNet.Load();
        using var x = Noise(1, 2);
        using var p = new PixelImage(x);
        var seen = new List<AscentProgress>();
        using var r = Ascent.run(model, Objective.ClassLogit(0), p, new AscentOptions {
            Iterations = 50, Optimizer = AscentOptimizer.SGD, LearningRate = 0.5, NormalizeGradient = true,
            StopWhen = a => a.NeedOutput().argmax(1).item<long>() == 0,
            Track = new[] { Objective.ClassLogit(1) },
            Progress = new InputGradients.Experiments.ProgressReport<AscentProgress>(seen.Add),
        });
        Assert.True(r.Stopped);
        Assert.Equal(r.Steps + 1, seen.Count);
        Assert.Equal(Enumerable.Range(0, r.Steps + 1), seen.Select(s => s.Iteration));
        using var o = model.call(r.Input);
        Assert.Equal(0, o.argmax(1).item<long>());
        Assert.Equal(o[0, 1].item<double>(), seen[^1].Tracked[0], 10);
    }

    // ---- tensor lifetime: every synthesis loop leaves no live tensor behind ----

    public static IEnumerable<object[]> Loops() => new[] {
        new object[] { "ascent pixels" }, new object[] { "ascent fourier" }, new object[] { "class visualisation" },
        new object[] { "feature visualisation" }, new object[] { "fooling" }, new object[] { "fooling with budget" },
    };

    [Theory]
    [MemberData(nameof(Loops))]
    public void No_tensors_leak_from_a_synthesis_loop(string loop)
    {
        var model = RefNet.Load();
        using var x = Noise(2, 1);
        var rgb = new InputSpace("test", 1, new double[] { 0.5, 0.5, 0.5 }, new double[] { 0.5, 0.5, 0.5 });
        void Run()
        {
            switch (loop) {
                case "ascent pixels":
                    using (var p = Parameterization.Pixels(rgb, 2, 8, 8, seed: 1, blurEvery: 2, dtype: ScalarType.Float64))
                    using (Ascent.run(model, new[] { Objective.ClassLogit(0), Objective.Channel("block", 1) }, p,
                               new AscentOptions { Iterations = 3, ShowEvery = 1, Transform = Transform.Compose(Transform.Roll(2), Transform.RandomRotate(-5, 5)) })) { }
                    break;
                case "ascent fourier":
                    using (var p = Parameterization.Fourier(rgb, 2, 8, 8, seed: 1, dtype: ScalarType.Float64))
                    using (Ascent.run(model, Objective.Diversity("block") + Objective.ClassLogit(1), p,
                               new AscentOptions { Iterations = 3, Transform = Transform.RandomRotate(-5, 5), Progress = new InputGradients.Experiments.ProgressReport<AscentProgress>(_ => { }) })) { }
                    break;
                case "class visualisation":
                    using (ClassVisualization.create(2, model, new ClassVisualizationOptions { Shape = new long[] { 1, 3, 8, 8 }, Iterations = 3, ShowEvery = 1 })) { }
                    break;
                case "feature visualisation":
                    using (FeatureVisualization.fourier(model, rgb, new[] { Objective.Channel("block", 0) }, size: 8, iterations: 2,
                               transform: Transform.Roll(2))) { }
                    using (FeatureVisualization.pixels(model, rgb, new[] { Objective.Channel("block", 0) }, size: 8, iterations: 2)) { }
                    break;
                case "fooling":
                    using (var x0 = x.narrow(0, 0, 1))
                    using (FoolingImage.make(x0, 4, model, lr: 0.1, max_iter: 3)) { }
                    break;
                default:
                    using (var x1 = x.narrow(0, 1, 1))
                    using (FoolingImage.make(x1, 4, model, lr: 0.1, max_iter: 3, budget: 0.05, space: rgb)) { }
                    break;
            }
        }
        Run();   // warm-up: lazily created state is not a leak
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Run();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
