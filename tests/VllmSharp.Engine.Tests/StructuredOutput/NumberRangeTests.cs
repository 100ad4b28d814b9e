using System.Globalization;
using VllmSharp.Engine.StructuredOutput;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>Bounded integer and number languages against plain numeric comparison, exhaustively on small ranges.</summary>
public sealed class NumberRangeTests
{
    public static TheoryData<long?, long?> IntegerBounds() => new()
    {
        { 0, 0 }, { -5, 5 }, { 7, 123 }, { -1234, -17 }, { 99, 1001 }, { null, 42 }, { -42, null }, { 0, null }, { null, -1 },
        { 1, 9 }, { 10, 99 }, { -100, 100 }, { 555, 555 }, { 20, 19 },
    };

    [Theory]
    [MemberData(nameof(IntegerBounds))]
    public void Integers_Exhaustive_AcceptExactlyTheRange(long? lo, long? hi)
    {
        var dfa = new LazyDfa(new ByteNfa(RegexNode.Alt(IntegerRangeRegex.Integers(lo, hi), RegexNode.Text("~"))));
        for (long v = -2000; v <= 2000; v++)
        {
            bool expected = (lo is null || v >= lo) && (hi is null || v <= hi);
            Assert.True(expected == RegexDfaTests.Accepts(dfa, v.ToString(CultureInfo.InvariantCulture)), $"{v} in [{lo}, {hi}]");
        }
        foreach (string malformed in new[] { "-0", "007", "01", "+5", "", "-", "1.0", "1e2" })
            Assert.False(RegexDfaTests.Accepts(dfa, malformed), malformed);
    }

    [Theory]
    [InlineData(-1.5, false, 2.0, true)]
    [InlineData(0.0, true, 1.0, false)]
    [InlineData(85.8, false, null, false)]
    [InlineData(null, false, -3.25, false)]
    [InlineData(-10.0, false, 10.0, false)]
    [InlineData(2.0, true, 3.0, true)]
    public void BoundedNumber_RandomDecimals_AcceptedOnlyWithinBounds(double? lo, bool loEx, double? hi, bool hiEx)
    {
        var dfa = new LazyDfa(new ByteNfa(JsonRegexes.BoundedNumber(lo, loEx, hi, hiEx)));
        var rng = new Random(17);
        int accepted = 0;
        for (int i = 0; i < 20000; i++)
        {
            // Decimals with up to 3 fraction digits around the bounds, written as JSON writes them.
            decimal v = Math.Round((decimal)(rng.NextDouble() * 240 - 120), rng.Next(4));
            string text = v.ToString(CultureInfo.InvariantCulture);
            if (text.Contains('.')) text = text.TrimEnd('0').TrimEnd('.');
            bool inRange = (lo is null || (loEx ? v > (decimal)lo : v >= (decimal)lo)) && (hi is null || (hiEx ? v < (decimal)hi : v <= (decimal)hi));
            bool ok = RegexDfaTests.Accepts(dfa, text);
            // Every accepted number is in range (soundness). The language keeps only fractions whose unit interval
            // lies in range, so a few in-range values next to fractional bounds are (deliberately) missing.
            if (ok) { Assert.True(inRange, $"{text} accepted outside [{lo}, {hi}]"); accepted++; }
            else if (inRange && text != "-0") Assert.True(NearFractionalBound(v, lo, hi), $"{text} rejected inside [{lo}, {hi}]");
        }
        Assert.True(accepted > 20, $"only {accepted} accepted: the sample says little");
    }

    private static bool NearFractionalBound(decimal v, double? lo, double? hi)
        => (lo is not null && Math.Abs(v - (decimal)lo) < 1) || (hi is not null && Math.Abs(v - (decimal)hi) < 1);
}
