namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// The JSON lexical pieces as regular languages: string characters, string formats and numbers. Separators
/// are fixed: ", " between items and ": " after keys, no other whitespace (the policy of the whole compiler).
/// </summary>
internal static class JsonRegexes
{
    public static readonly RegexNode Comma = RegexNode.Text(", ");
    public static readonly RegexNode Colon = RegexNode.Text(": ");
    public static readonly RegexNode Quote = RegexNode.Text("\"");

    private static readonly RegexNode s_digit = RegexNode.Chars(['0', '9']);
    private static readonly RegexNode s_hex = RegexNode.Chars(['0', '9', 'a', 'f', 'A', 'F']);

    /// <summary>One character of a JSON string: unescaped, a short escape, or \uXXXX outside the surrogates.</summary>
    public static readonly RegexNode StringChar = RegexNode.Alt(
        RegexNode.Chars([0x20, 0x21, 0x23, 0x5B, 0x5D, CodePointSet.MaxCodePoint]),
        RegexNode.Concat(RegexNode.Text("\\"), RegexNode.Chars(['"', '"', '\\', '\\', '/', '/', 'b', 'b', 'f', 'f', 'n', 'n', 'r', 'r', 't', 't'])),
        RegexNode.Concat(RegexNode.Text("\\u"), RegexNode.Alt(
            RegexNode.Concat(RegexNode.Chars(['0', '9', 'a', 'c', 'A', 'C', 'e', 'f', 'E', 'F']), RegexNode.Repeat(s_hex, 3, 3)),
            RegexNode.Concat(RegexNode.Chars(['d', 'd', 'D', 'D']), RegexNode.Chars(['0', '7']), RegexNode.Repeat(s_hex, 2, 2)))));

    /// <summary>A JSON string of <paramref name="min"/>…<paramref name="max"/> characters (max −1: unbounded).</summary>
    public static RegexNode String(int min, int max) => RegexNode.Concat(Quote, RegexNode.Repeat(StringChar, min, max), Quote);

    /// <summary>A JSON number without bounds: up to 16 integer digits, 16 fraction digits and a 2-digit exponent.</summary>
    public static RegexNode Number() => RegexNode.Concat(
        IntegerRangeRegex.Integers(null, null),
        RegexNode.Optional(RegexNode.Concat(RegexNode.Text("."), RegexNode.Repeat(s_digit, 1, 16))),
        RegexNode.Optional(RegexNode.Concat(RegexNode.Chars(['e', 'e', 'E', 'E']), RegexNode.Optional(RegexNode.Chars(['+', '+', '-', '-'])),
            RegexNode.Repeat(s_digit, 1, 2))));

    /// <summary>
    /// Numbers within bounds (null: open; exclusive bounds exclude the bound itself), without exponents: the whole
    /// numbers in range, and the fractions i.xxx whose open interval between two whole numbers lies in range.
    /// Fractions end in a non-zero digit (so "2.0" never stands for an excluded bound 2) and have at most 6 digits.
    /// </summary>
    public static RegexNode BoundedNumber(double? lo, bool loExclusive, double? hi, bool hiExclusive)
    {
        long? wholeLo = lo is null ? null : CeilBound(lo.Value, loExclusive);
        long? wholeHi = hi is null ? null : FloorBound(hi.Value, hiExclusive);
        RegexNode whole = IntegerRangeRegex.Integers(wholeLo, wholeHi);
        RegexNode fraction = RegexNode.Concat(RegexNode.Text("."), RegexNode.Repeat(s_digit, 0, 5), RegexNode.Chars(['1', '9']));
        // i.xxx ∈ (i, i+1) with i ≥ 0: needs i ≥ lo and i + 1 ≤ hi.
        long posLo = Math.Max(0, lo is null ? 0 : CeilBound(lo.Value, false));
        long? posHi = hi is null ? null : FloorBound(hi.Value, false) - 1;
        // −k.xxx ∈ (−k−1, −k) with k ≥ 0: needs −k−1 ≥ lo and −k ≤ hi.
        long negLo = Math.Max(0, hi is null ? 0 : CeilBound(-hi.Value, false));
        long? negHi = lo is null ? null : FloorBound(-lo.Value, false) - 1;
        return RegexNode.Alt(
            whole,
            RegexNode.Concat(IntegerRangeRegex.NonNegative(posLo, posHi), fraction),
            RegexNode.Concat(RegexNode.Text("-"), IntegerRangeRegex.NonNegative(negLo, negHi), fraction));
    }

    public static long CeilBound(double v, bool exclusive)
    {
        double c = Math.Ceiling(v);
        return Clamp(exclusive && c == v ? c + 1 : c);
    }

    public static long FloorBound(double v, bool exclusive)
    {
        double f = Math.Floor(v);
        return Clamp(exclusive && f == v ? f - 1 : f);
    }

    private static long Clamp(double v) => (long)Math.Clamp(v, -1e18, 1e18);

    /// <summary>The content (between the quotes) of a string with a known format, or null for other formats.</summary>
    public static RegexNode? Format(string format)
    {
        string? pattern = format switch
        {
            "date" => Date,
            "time" => Time,
            "date-time" => Date + "T" + Time,
            "uuid" => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            // Parts bounded so the local part stays within RFC 5321's 64 characters.
            "email" => "[a-z0-9]{1,20}([._-][a-z0-9]{1,10}){0,2}@[a-z0-9]{1,20}(-[a-z0-9]{1,10})?(\\.[a-z]{2,6}){1,2}",
            _ => null,
        };
        return pattern is null ? null : RegexParser.ParseFullMatch(pattern);
    }

    // Days that exist in every year (29 February is left out rather than checking leap years).
    private const string Date = "(19|20)[0-9]{2}-(((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))|((0[13-9]|1[0-2])-(29|30))|((0[13578]|1[02])-31))";
    private const string Time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
}
