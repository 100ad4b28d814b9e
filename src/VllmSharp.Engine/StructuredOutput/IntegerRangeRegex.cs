using System.Globalization;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Regular languages of decimal integers within bounds (JSON syntax: no leading zeros, no "-0"), exact for any
/// bounds within ±10^17. Unbounded sides are limited to <see cref="MaxDigits"/> digits, so every integer the
/// constraint allows also fits a long and a double without rounding surprises.
/// </summary>
internal static class IntegerRangeRegex
{
    public const int MaxDigits = 16;
    private const long Limit = 100_000_000_000_000_000; // 10^17: bounds beyond it are treated as absent

    private static readonly RegexNode s_digit = RegexNode.Chars(['0', '9']);
    private static readonly RegexNode s_nonZero = RegexNode.Chars(['1', '9']);

    /// <summary>Integers in [lo, hi]; null bounds are open (up to <see cref="MaxDigits"/> digits).</summary>
    public static RegexNode Integers(long? lo, long? hi)
    {
        if (lo is < -Limit) lo = null;
        if (hi is > Limit) hi = null;
        if (lo is not null && hi is not null && lo > hi) return RegexNode.Never;
        var options = new List<RegexNode>();
        // Negative part: −[max(1, −hi), −lo].
        if (lo is null or < 0)
        {
            long negHi = hi is null ? -1 : Math.Min(hi.Value, -1);
            options.Add(RegexNode.Concat(RegexNode.Text("-"), Positive(-negHi, lo is null ? null : -lo.Value)));
        }
        // Zero and the positive part.
        if ((lo is null or <= 0) && (hi is null or >= 0)) options.Add(RegexNode.Text("0"));
        if (hi is null or > 0) options.Add(Positive(Math.Max(1, lo ?? 1), hi));
        return RegexNode.Alt([.. options]);
    }

    /// <summary>Non-negative integers in [lo, hi] (lo ≥ 0); hi null is open.</summary>
    public static RegexNode NonNegative(long lo, long? hi)
    {
        if (hi is not null && hi < lo) return RegexNode.Never;
        RegexNode zero = lo == 0 ? RegexNode.Text("0") : RegexNode.Never;
        RegexNode positive = hi is 0 ? RegexNode.Never : Positive(Math.Max(1, lo), hi);
        return RegexNode.Alt(zero, positive);
    }

    // Integers in [a, b] with a ≥ 1, one digit count at a time.
    private static RegexNode Positive(long a, long? b)
    {
        if (b is not null && b < a) return RegexNode.Never;
        int da = Digits(a), db = b is null ? MaxDigits : Digits(b.Value);
        if (da > MaxDigits) return RegexNode.Never;
        db = Math.Min(db, MaxDigits);
        var options = new List<RegexNode>();
        for (int length = da; length <= db; length++)
        {
            long low = length == da ? a : Pow10(length - 1);
            long high = b is not null && length == Digits(b.Value) ? b.Value : Pow10(length) - 1;
            if (low == Pow10(length - 1) && high == Pow10(length) - 1)
                options.Add(RegexNode.Concat(s_nonZero, RegexNode.Repeat(s_digit, length - 1, length - 1)));
            else
                options.Add(SameLength(low.ToString(CultureInfo.InvariantCulture), high.ToString(CultureInfo.InvariantCulture)));
        }
        return RegexNode.Alt([.. options]);
    }

    // Digit strings of equal length between lo and hi inclusive.
    private static RegexNode SameLength(string lo, string hi)
    {
        if (lo.Length == 1) return RegexNode.Chars([lo[0], hi[0]]);
        if (lo[0] == hi[0]) return RegexNode.Concat(RegexNode.Char(lo[0]), SameLength(lo[1..], hi[1..]));
        string restLo = lo[1..], restHi = hi[1..];
        int n = restLo.Length;
        bool loFull = restLo.All(c => c == '0'), hiFull = restHi.All(c => c == '9');
        var options = new List<RegexNode>();
        int firstMid = loFull ? lo[0] : lo[0] + 1, lastMid = hiFull ? hi[0] : hi[0] - 1;
        if (!loFull) options.Add(RegexNode.Concat(RegexNode.Char(lo[0]), SameLength(restLo, new string('9', n))));
        if (firstMid <= lastMid) options.Add(RegexNode.Concat(RegexNode.Chars([firstMid, lastMid]), RegexNode.Repeat(s_digit, n, n)));
        if (!hiFull) options.Add(RegexNode.Concat(RegexNode.Char(hi[0]), SameLength(new string('0', n), restHi)));
        return RegexNode.Alt([.. options]);
    }

    private static int Digits(long v) => v.ToString(CultureInfo.InvariantCulture).Length;

    private static long Pow10(int n)
    {
        long p = 1;
        for (int i = 0; i < n; i++) p *= 10;
        return p;
    }
}
