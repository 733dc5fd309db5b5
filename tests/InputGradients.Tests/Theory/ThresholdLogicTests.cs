using System.Numerics;
using InputGradients.Theory;

namespace InputGradients.Tests.Theory;

public class ThresholdLogicTests
{
    [Fact]
    public void And_and_or_units_match_the_questions_truth_tables()
    {
        // Truth tables copied from the problem statement (rows 00, 01, 10, 11).
        int[] and = { 0, 0, 0, 1 }, or = { 0, 1, 1, 1 };
        int[][] x = { new[] { 0, 0 }, new[] { 0, 1 }, new[] { 1, 0 }, new[] { 1, 1 } };
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(and[k], ThresholdLogic.AndUnit.Evaluate(x[k]));
            Assert.Equal(or[k], ThresholdLogic.OrUnit.Evaluate(x[k]));
        }
        Assert.True(ThresholdLogic.AndUnit.Realises(BooleanFunction.And));
        Assert.True(ThresholdLogic.OrUnit.Realises(BooleanFunction.Or));
        Assert.False(ThresholdLogic.AndUnit.Realises(BooleanFunction.Or));
    }

    [Fact]
    public void Truth_table_rows_follow_the_problem_sets_order()
    {
        var f = BooleanFunction.Xnor;
        Assert.Equal(new[] { 0, 0 }, f.Point(0));
        Assert.Equal(new[] { 0, 1 }, f.Point(1));
        Assert.Equal(new[] { 1, 0 }, f.Point(2));
        Assert.Equal(new[] { 1, 1 }, f.Point(3));
        Assert.True(f[0] && !f[1] && !f[2] && f[3]);
    }

    [Fact]
    public void Decide_finds_units_for_and_or_and_verifies_them()
    {
        foreach (var f in new[] { BooleanFunction.And, BooleanFunction.Or })
        {
            var r = ThresholdLogic.Decide(f);
            Assert.True(r.IsSeparable);
            Assert.Null(r.Certificate);
            Assert.True(r.Unit!.Realises(f));
        }
    }

    [Fact]
    public void Xnor_and_xor_get_certificates_meeting_at_the_centre()
    {
        foreach (var f in new[] { BooleanFunction.Xnor, BooleanFunction.Xor })
        {
            var r = ThresholdLogic.Decide(f);
            Assert.False(r.IsSeparable);
            var c = r.Certificate!;
            Assert.True(c.Verify(f));
            // The diagonals of the square cross at (1/2, 1/2) only, so that is the common point.
            var half = new Rational(1, 2);
            Assert.Equal(new[] { half, half }, c.CommonPoint(f));
        }
    }

    [Fact]
    public void Xnor_certificate_reads_as_the_midpoint_of_both_diagonals()
    {
        var c = ThresholdLogic.Decide(BooleanFunction.Xnor).Certificate!;
        Assert.Equal("1/2*(0,0) + 1/2*(1,1) = 1/2*(0,1) + 1/2*(1,0)", c.ToString());
        Assert.Contains("\\tfrac{1}{2}(0,0) + \\tfrac{1}{2}(1,1)", c.ToLatex());
        Assert.EndsWith("(\\tfrac{1}{2}, \\tfrac{1}{2})", c.ToLatex());
    }

    [Fact]
    public void Certificate_verification_rejects_wrong_certificates()
    {
        var f = BooleanFunction.Xnor;
        var half = new Rational(1, 2);
        var good = new SeparationCertificate(2, new Dictionary<int, Rational> { [0] = half, [3] = half }, new Dictionary<int, Rational> { [1] = half, [2] = half });
        Assert.True(good.Verify(f));
        // Unequal combination points.
        Assert.False(new SeparationCertificate(2, new Dictionary<int, Rational> { [0] = 1 }, new Dictionary<int, Rational> { [1] = 1 }).Verify(f));
        // A multiplier on a point of the wrong class.
        Assert.False(new SeparationCertificate(2, new Dictionary<int, Rational> { [1] = half, [2] = half }, new Dictionary<int, Rational> { [1] = half, [2] = half }).Verify(f));
        // Negative multipliers.
        Assert.False(new SeparationCertificate(2, new Dictionary<int, Rational> { [0] = new Rational(3, 2), [3] = -half }, new Dictionary<int, Rational> { [1] = half, [2] = half }).Verify(f));
        // Not a convex combination (sums to 2).
        Assert.False(new SeparationCertificate(2, new Dictionary<int, Rational> { [0] = 1, [3] = 1 }, new Dictionary<int, Rational> { [1] = 1, [2] = 1 }).Verify(f));
        // Certificate for AND cannot verify (AND is separable).
        Assert.False(good.Verify(BooleanFunction.And));
    }

    [Fact]
    public void Two_layers_of_threshold_units_compute_xnor()
    {
        // XNOR = OR(AND(x1, x2), NOR(x1, x2)), as in the notebook.
        var nor = ThresholdUnit.Of(0, -1, -1);
        var f = BooleanFunction.Xnor;
        for (int k = 0; k < 4; k++)
        {
            var x = f.Point(k);
            var h = new[] { ThresholdLogic.AndUnit.Evaluate(x), nor.Evaluate(x) };
            Assert.Equal(f[k] ? 1 : 0, ThresholdLogic.OrUnit.Evaluate(h));
        }
    }

    [Fact]
    public void Boundary_text_reads_like_the_maths()
    {
        Assert.Equal("x₁ + x₂ − 2 = 0", ThresholdLogic.AndUnit.BoundaryText());
        Assert.Equal("−3x₁ + 2x₂ = 0", ThresholdUnit.Of(0, -3, 2).BoundaryText());
        Assert.Equal("x₂ + 5 = 0", ThresholdUnit.Of(5, 0, 1).BoundaryText());
    }

    [Fact]
    public void Unit_check_rejects_a_wrong_unit()
    {
        Assert.False(ThresholdUnit.Of(-1, 1, 1).Realises(BooleanFunction.And));
        Assert.False(ThresholdUnit.Of(0, 1, -1).Realises(BooleanFunction.Xnor));
    }

    // Numbers of threshold functions of n variables: OEIS A000609 (2, 4, 14, 104, 1882, ...).
    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 4)]
    [InlineData(2, 14)]
    [InlineData(3, 104)]
    [InlineData(4, 1882)]
    public void Counts_of_linearly_separable_functions_match_the_known_values(int n, long expected)
    {
        var count = ThresholdLogic.CountSeparable(n);
        Assert.Equal(expected, count.Separable);
        Assert.Equal(1L << (1 << n), count.Functions);
    }

    [Fact]
    public void Every_function_of_three_inputs_gets_a_verified_answer()
    {
        foreach (var shortcut in new[] { true, false })
        for (ulong i = 0; i < 256; i++)
        {
            var f = BooleanFunction.FromIndex(3, i);
            var r = ThresholdLogic.Decide(f, shortcut);
            Assert.True(r.Unit is null ^ r.Certificate is null);
            if (r.Unit is not null) Assert.True(r.Unit.Realises(f), $"{f}: {r.Unit}");
            else Assert.True(r.Certificate!.Verify(f), f.ToString());
        }
    }

    [Fact]
    public void Separable_three_input_functions_are_exactly_those_a_brute_force_search_finds()
    {
        // Independent check: every threshold function of 3 inputs has integer weights in [-3, 3] and a bias in
        // [-5, 5] (a small known bound: weights 1,1,2 / bias up to 4 suffice for 3 variables), so brute force
        // over that box must find exactly the separable ones.
        var found = new HashSet<ulong>();
        for (int w1 = -3; w1 <= 3; w1++)
        for (int w2 = -3; w2 <= 3; w2++)
        for (int w3 = -3; w3 <= 3; w3++)
        for (int b = -5; b <= 5; b++)
        {
            ulong idx = 0;
            for (int k = 0; k < 8; k++)
            {
                int x1 = (k >> 2) & 1, x2 = (k >> 1) & 1, x3 = k & 1;
                if (w1 * x1 + w2 * x2 + w3 * x3 + b >= 0) idx |= 1UL << k;
            }
            found.Add(idx);
        }
        Assert.Equal(104, found.Count);
        for (ulong i = 0; i < 256; i++)
        {
            Assert.Equal(found.Contains(i), ThresholdLogic.Decide(BooleanFunction.FromIndex(3, i)).IsSeparable);
            Assert.Equal(found.Contains(i), ThresholdLogic.Decide(BooleanFunction.FromIndex(3, i), pairShortcut: false).IsSeparable);
        }
    }

    [Fact]
    public void Four_input_answers_are_all_verified_on_a_sample()
    {
        var rng = new Random(20260226);
        for (int t = 0; t < 1000; t++)
        {
            var f = BooleanFunction.FromIndex(4, (ulong)rng.Next(1 << 16));
            var r = ThresholdLogic.Decide(f);
            var lp = ThresholdLogic.Decide(f, pairShortcut: false);
            Assert.Equal(r.IsSeparable, lp.IsSeparable);
            if (r.Unit is not null) Assert.True(r.Unit.Realises(f));
            else Assert.True(r.Certificate!.Verify(f));
            if (lp.Unit is not null) Assert.True(lp.Unit.Realises(f));
            else Assert.True(lp.Certificate!.Verify(f));
        }
    }

    [Fact]
    public void Four_input_count_is_fast()
    {
        // "In seconds": generous bound for a loaded 2-core machine.
        var c = ThresholdLogic.CountSeparable(4);
        Assert.Equal(1882, c.Separable);
        Assert.True(c.Elapsed < TimeSpan.FromSeconds(30), $"took {c.Elapsed}");
    }

    [Fact]
    public void Majority_of_three_is_separable_and_parity_of_three_is_not()
    {
        var maj = ThresholdLogic.Decide(BooleanFunction.FromOutputs(3, 0, 0, 0, 1, 0, 1, 1, 1));
        Assert.True(maj.IsSeparable);
        Assert.True(maj.Unit!.Weights.All(w => w > BigInteger.Zero));
        var parity = ThresholdLogic.Decide(BooleanFunction.FromOutputs(3, 0, 1, 1, 0, 1, 0, 0, 1));
        Assert.False(parity.IsSeparable);
    }

    [Fact]
    public void Bad_truth_tables_are_rejected_with_a_clear_message()
    {
        var e = Assert.Throws<ArgumentException>(() => BooleanFunction.FromOutputs(2, 0, 1, 1));
        Assert.Contains("4 rows", e.Message);
        Assert.Throws<ArgumentException>(() => BooleanFunction.FromOutputs(2, 0, 1, 2, 1));
    }
}
