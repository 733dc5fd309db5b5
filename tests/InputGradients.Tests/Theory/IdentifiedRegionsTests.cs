using InputGradients.Theory;

namespace InputGradients.Tests.Theory;

public class IdentifiedRegionsTests
{
    public static TheoryData<int, int> DepthCases()
    {
        var data = new TheoryData<int, int>();
        for (int d = 1; d <= 3; d++) for (int l = 1; l <= 3; l++) data.Add(d, l);
        return data;
    }

    // 2^(L·d) from the proof of Q3.3 (each layer splits every coordinate's interval in two).
    [Theory]
    [MemberData(nameof(DepthCases))]
    public void Question_network_identifies_2_to_the_Ld_regions(int d, int layers)
    {
        var a = IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Question(d, layers));
        Assert.Equal(1 << (layers * d), a.IdentifiedCount);
        Assert.Equal(1 << (layers * d), a.LinearRegionCount);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    [InlineData(2, 3)]
    public void Relu_version_computes_the_same_function_and_the_same_counts(int d, int layers)
    {
        var abs = PiecewiseLinearNetwork.Question(d, layers);
        var relu = abs.WithReluUnits();
        Assert.Equal(2 * layers, relu.Layers.Count);
        Assert.Equal(2 * d, relu.Layers[0].OutputDim);
        var rng = new Random(11);
        for (int t = 0; t < 200; t++)
        {
            var x = Enumerable.Range(0, d).Select(_ => rng.NextDouble()).ToArray();
            Assert.Equal(abs.Forward(x), relu.Forward(x));
        }
        var a = IdentifiedRegions.Analyze(relu);
        Assert.Equal(1 << (layers * d), a.IdentifiedCount);
        Assert.Equal(1 << (layers * d), a.LinearRegionCount);
    }

    /// <summary>Q3.2: f ∘ g identifies n_f · n_g regions, for f and g with different structure.</summary>
    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(2, 1, 1)]
    [InlineData(2, 2, 1)]
    [InlineData(1, 2, 2)]
    [InlineData(3, 1, 1)]
    public void Composition_identifies_the_product_of_the_counts(int d, int lf, int lg)
    {
        var g = PiecewiseLinearNetwork.Question(d, lg);
        // f: a coordinate swap then |2x − 1| (a different W), repeated lf times.
        var f = new PiecewiseLinearNetwork(Enumerable.Range(0, lf).Select(_ => SwappedLayer(d)).ToList(), "swap");
        int ng = IdentifiedRegions.Analyze(g).IdentifiedCount;
        int nf = IdentifiedRegions.Analyze(f).IdentifiedCount;
        var fg = IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Compose(f, g));
        Assert.Equal(nf * ng, fg.IdentifiedCount);
        Assert.Equal(1 << ((lf + lg) * d), fg.IdentifiedCount);
    }

    [Fact]
    public void Composition_with_a_one_region_map_keeps_the_count()
    {
        // f(x) = |x| is the identity on the cube: one region, n_f = 1.
        int d = 2;
        var w = new Rational[d, d];
        for (int i = 0; i < d; i++) w[i, i] = 1;
        var f = PiecewiseLinearNetwork.Of("|x|", new PiecewiseLinearLayer(w, new Rational[d], Activation.Abs));
        Assert.Equal(1, IdentifiedRegions.Analyze(f).IdentifiedCount);
        var g = PiecewiseLinearNetwork.Question(d, 2);
        Assert.Equal(16, IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Compose(f, g)).IdentifiedCount);
        Assert.Equal(16, IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Compose(g, f)).IdentifiedCount);
    }

    [Fact]
    public void Regions_not_onto_the_cube_are_not_counted()
    {
        // |3x − 1| maps (0,1/3) onto (0,1) but (1/3,1) onto (0,2): two linear regions, one identified.
        var f = PiecewiseLinearNetwork.Of("|3x-1|", new PiecewiseLinearLayer(new Rational[,] { { 3 } }, new Rational[] { -1 }, Activation.Abs));
        var a = IdentifiedRegions.Analyze(f);
        Assert.Equal(2, a.LinearRegionCount);
        Assert.Equal(1, a.IdentifiedCount);
        // |x/2| maps the cube onto (0,1/2): one region, not identified. A singular map is not identified either.
        var half = PiecewiseLinearNetwork.Of("|x/2|", new PiecewiseLinearLayer(new Rational[,] { { new Rational(1, 2) } }, new Rational[] { 0 }, Activation.Abs));
        Assert.Equal(0, IdentifiedRegions.Analyze(half).IdentifiedCount);
        var singular = PiecewiseLinearNetwork.Of("rank 1", new PiecewiseLinearLayer(new Rational[,] { { 1, 1 }, { 1, 1 } }, new Rational[] { 0, 0 }, Activation.Abs));
        Assert.Equal(0, IdentifiedRegions.Analyze(singular).IdentifiedCount);
    }

    [Fact]
    public void A_general_layer_splits_along_oblique_hyperplanes()
    {
        // |x1 + x2 − 1| and |x1 − x2|: the two diagonals cut the square into 4 triangles.
        var layer = new PiecewiseLinearLayer(new Rational[,] { { 1, 1 }, { 1, -1 } }, new Rational[] { -1, 0 }, Activation.Abs);
        var a = IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Of("diagonals", layer));
        Assert.Equal(4, a.LinearRegionCount);
        foreach (var r in a.Regions) Assert.Equal(3, r.Region.Polygon().Count);
        // Each triangle has area 1/4 and |det| = 2, so its image has area 1/2: none is onto the unit square.
        Assert.Equal(0, a.IdentifiedCount);
    }

    [Fact]
    public void Random_points_of_each_region_map_into_the_cube_with_the_regions_affine_map()
    {
        var rng = new Random(3);
        foreach (var (d, l) in new[] { (1, 3), (2, 2), (3, 2), (2, 3) })
        {
            var net = PiecewiseLinearNetwork.Question(d, l);
            var a = IdentifiedRegions.Analyze(net);
            foreach (var r in a.Regions)
            {
                int found = 0;
                for (int tries = 0; found < 5 && tries < 100_000; tries++)
                {
                    var x = Enumerable.Range(0, d).Select(_ => rng.NextDouble()).ToArray();
                    if (!r.Region.ContainsStrict(x)) continue;
                    found++;
                    var y = net.Forward(x);
                    Assert.All(y, v => Assert.InRange(v, 0.0, 1.0));
                    var ya = r.Map(x);
                    for (int i = 0; i < d; i++) Assert.Equal(y[i], ya[i], 1e-12);
                }
                Assert.Equal(5, found);
                // The exact interior point too.
                Assert.True(r.Region.ContainsStrict(r.InteriorPoint));
                Assert.Equal(net.Forward(r.InteriorPoint), r.Map(r.InteriorPoint));
            }
        }
    }

    [Fact]
    public void A_common_output_point_has_one_distinct_preimage_in_every_region()
    {
        var rng = new Random(5);
        foreach (var (d, l) in new[] { (1, 4), (2, 2), (3, 2), (2, 3) })
        {
            var net = PiecewiseLinearNetwork.Question(d, l);
            var a = IdentifiedRegions.Analyze(net);
            for (int t = 0; t < 3; t++)
            {
                // A random rational output point inside (0,1)^d, avoiding the boundaries.
                var y = Enumerable.Range(0, d).Select(_ => new Rational(rng.Next(1, 997), 997)).ToArray();
                var preimages = new HashSet<string>();
                foreach (var r in a.Regions)
                {
                    var x = r.SolveInverse(y)!;
                    Assert.True(r.Region.ContainsStrict(x));
                    Assert.Equal(y, net.Forward(x));  // exact, through the network itself
                    preimages.Add(string.Join(",", x));
                }
                Assert.Equal(a.Regions.Count, preimages.Count);
            }
        }
    }

    [Fact]
    public void Regions_partition_the_cube()
    {
        // Every random point lies in exactly one region (boundaries have probability zero), and the 2-D regions' areas sum to 1.
        var rng = new Random(9);
        var a = IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Question(2, 2));
        for (int t = 0; t < 2000; t++)
        {
            var x = new[] { rng.NextDouble(), rng.NextDouble() };
            Assert.Equal(1, a.Regions.Count(r => r.Region.ContainsStrict(x)));
        }
        double area = a.Regions.Sum(r => ShoelaceArea(r.Region.Polygon()));
        Assert.Equal(1.0, area, 1e-12);
    }

    [Fact]
    public void Graph_1d_has_2_to_the_L_pieces_and_agrees_with_the_network()
    {
        for (int l = 1; l <= 4; l++)
        {
            var net = PiecewiseLinearNetwork.Question(1, l);
            var g = IdentifiedRegions.Graph1D(net);
            Assert.Equal((1 << l) + 1, g.Count);
            // The sawtooth alternates between 1 and 0 at the breakpoints k/2^L.
            for (int k = 0; k < g.Count; k++)
            {
                Assert.Equal(new Rational(k, 1 << l), g[k].X);
                Assert.Equal(k % 2 == 0 ? Rational.One : Rational.Zero, g[k].Y);
            }
        }
    }

    [Fact]
    public void Simplex_solves_a_known_lp_and_proves_infeasibility()
    {
        // min −x − y s.t. x + 2y + s1 = 4, 3x + y + s2 = 6: optimum at (8/5, 6/5), value −14/5.
        var a = new Rational[,] { { 1, 2, 1, 0 }, { 3, 1, 0, 1 } };
        var r = ExactSimplex.Minimize(a, new Rational[] { 4, 6 }, new Rational[] { -1, -1, 0, 0 });
        Assert.Equal(LpStatus.Optimal, r.Status);
        Assert.Equal(new Rational(-14, 5), r.Objective);
        Assert.Equal(new Rational(8, 5), r.X![0]);
        // x + y = 1 and x + y = 2 cannot both hold: the Farkas ray must satisfy yᵀA ≤ 0, yᵀb > 0.
        var inf = ExactSimplex.Feasible(new Rational[,] { { 1, 1 }, { 1, 1 } }, new Rational[] { 1, 2 });
        Assert.Equal(LpStatus.Infeasible, inf.Status);
        var y = inf.FarkasRay!;
        Assert.True((y[0] + y[1]).Sign <= 0);
        Assert.True((y[0] + 2 * y[1]).Sign > 0);
    }

    static PiecewiseLinearLayer SwappedLayer(int d)
    {
        // W = 2P with P the cyclic shift, b = −1.
        var w = new Rational[d, d];
        var b = new Rational[d];
        for (int i = 0; i < d; i++) { w[i, (i + 1) % d] = 2; b[i] = -1; }
        return new PiecewiseLinearLayer(w, b, Activation.Abs);
    }

    static double ShoelaceArea(IReadOnlyList<(double X, double Y)> p)
    {
        double s = 0;
        for (int i = 0; i < p.Count; i++)
        {
            var (a, b) = (p[i], p[(i + 1) % p.Count]);
            s += a.X * b.Y - b.X * a.Y;
        }
        return Math.Abs(s) / 2;
    }

    [Fact]
    public void Region_labels_use_the_minus_sign()
    {
        var labels = IdentifiedRegions.Analyze(PiecewiseLinearNetwork.Question(2, 1)).Regions.Select(r => r.Label).Order().ToArray();
        Assert.Equal(new[] { "++", "+−", "−+", "−−" }.Order().ToArray(), labels);
    }
}
