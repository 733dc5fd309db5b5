namespace InputGradients.Tests.Text;

public class CheckTests
{
    [Fact]
    public void A_true_claim_is_returned_ticked_and_a_false_one_throws_naming_it()
    {
        Assert.Equal("✓ two is even", Check.That(2 % 2 == 0, "two is even"));
        var ex = Assert.Throws<CheckFailedException>(() => Check.That(3 % 2 == 0, "three is even"));
        Assert.Contains("three is even", ex.Message);
    }

    [Fact]
    public void All_returns_the_rows_or_names_the_first_bad_one()
    {
        Assert.Equal([1, 2, 3], Check.All(new[] { 1, 2, 3 }, x => x > 0, "positive"));
        var ex = Assert.Throws<CheckFailedException>(() => Check.All(new[] { 1, -2, -3 }, x => x > 0, "positive"));
        Assert.Contains("row 2: -2", ex.Message);
    }
}
