using System.Text;
using System.Text.RegularExpressions;
using VllmSharp.Engine.StructuredOutput;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// The byte-level DFA against .NET's Regex (ECMAScript mode, whose \d \w \s are ASCII like ours; its $ also matches before a final \n, hence the lookahead) on random strings:
/// full-match answers must agree exactly. Strings stay in the BMP because .NET matches UTF-16 code units.
/// </summary>
public sealed class RegexDfaTests
{
    private static readonly string[] s_patterns =
    [
        "abc", "a|b|cd", "a*b+c?", "(ab)*", "[a-c]{2,4}", "[^abc]+", "\\d{3}-\\d{2}", "\\w+@\\w+\\.com",
        "(a|bc)*d", "x{0,3}y{2}", "[0-9a-fA-F]+", "\\s*\\S+\\s*", ".{2}", "(?:ab|a)(?:bc|c)", "[é€-]+a",
        "[^\\d\\s]*", "\\.\\*\\+", "(a+)+b", "^[ab]+$", "(0|[1-9][0-9]*)(\\.[0-9]+)?", "[-a]+", "a{2,}", "(é|€){1,2}",
        "[\\u00e0-\\u00ff]+", "\\x41\\u0042", "(?<g>a)b",
    ];

    private const string Alphabet = "abcdxy019-@. \t\néà€AB_*+";

    public static TheoryData<string> Patterns() => [.. s_patterns];

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Dfa_RandomStrings_AgreesWithDotNetRegex(string pattern)
    {
        var reference = new Regex("^(?:" + pattern.TrimStart('^').TrimEnd('$') + ")$(?![\\s\\S])", RegexOptions.ECMAScript | RegexOptions.CultureInvariant);
        var dfa = new LazyDfa(new ByteNfa(RegexParser.ParseFullMatch(pattern)));
        var rng = new Random(pattern.Length * 7919 + pattern[0]);
        for (int trial = 0; trial < 3000; trial++)
        {
            string text = trial < 2000 ? RandomString(rng) : Mutate(rng, Sample(reference, rng, pattern));
            bool expected = reference.IsMatch(text);
            Assert.True(expected == Accepts(dfa, text), $"/{pattern}/ on \"{text}\": .NET says {expected}");
        }
    }

    [Theory]
    [InlineData("a(?=b)")]
    [InlineData("(a)\\1")]
    [InlineData("a\\b")]
    [InlineData("a^b")]
    [InlineData("(ab")]
    [InlineData("ab)")]
    [InlineData("[abc")]
    [InlineData("*a")]
    [InlineData("a{3,1}")]
    public void Parse_UnsupportedOrInvalid_ThrowsNamingThePattern(string pattern)
    {
        var e = Assert.Throws<StructuredOutputException>(() => RegexParser.ParseFullMatch(pattern));
        Assert.Contains(pattern, e.Message);
    }

    [Fact]
    public void Dfa_AstralCharacterClass_MatchesFourByteUtf8()
    {
        var dfa = new LazyDfa(new ByteNfa(RegexParser.ParseFullMatch("[😀-😂]x")));
        Assert.True(Accepts(dfa, "😁x"));
        Assert.False(Accepts(dfa, "😃x"));
        Assert.False(Accepts(dfa, "x"));
    }

    [Fact]
    public void Dfa_NegatedClass_AcceptsEveryEncodingLength()
    {
        var dfa = new LazyDfa(new ByteNfa(RegexParser.ParseFullMatch("[^a]")));
        foreach (int cp in new[] { 0x62, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF })
            Assert.True(Accepts(dfa, char.ConvertFromUtf32(cp)), $"U+{cp:X4}");
        Assert.False(Accepts(dfa, "a"));
        // Bytes that are never valid UTF-8 are never accepted, alone or as a lead byte.
        Assert.Equal(LazyDfa.Dead, dfa.Next(dfa.Start, 0xFF));
        Assert.Equal(LazyDfa.Dead, dfa.Next(dfa.Start, 0xC0));
    }

    internal static bool Accepts(LazyDfa dfa, string text)
    {
        int state = dfa.Start;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            state = dfa.Next(state, b);
            if (state == LazyDfa.Dead) return false;
        }
        return dfa.IsAccepting(state);
    }

    private static string RandomString(Random rng)
    {
        var sb = new StringBuilder();
        int length = rng.Next(0, 8);
        for (int i = 0; i < length; i++) sb.Append(Alphabet[rng.Next(Alphabet.Length)]);
        return sb.ToString();
    }

    // A string the reference accepts, found by random search (empty when none turned up): mutations of
    // it probe the boundary of the language, where random strings rarely land.
    private static string Sample(Regex reference, Random rng, string pattern)
    {
        for (int i = 0; i < 200; i++)
        {
            string s = RandomString(rng);
            if (reference.IsMatch(s)) return s;
        }
        return pattern.Replace("\\", "").Replace("^", "").Replace("$", "");
    }

    private static string Mutate(Random rng, string s)
    {
        var sb = new StringBuilder(s);
        int edits = rng.Next(0, 3);
        for (int e = 0; e < edits; e++)
        {
            int op = rng.Next(3), at = rng.Next(sb.Length + 1);
            if (op == 0) sb.Insert(at, Alphabet[rng.Next(Alphabet.Length)]);
            else if (sb.Length > 0 && at < sb.Length && op == 1) sb.Remove(at, 1);
            else if (at < sb.Length) sb[at] = Alphabet[rng.Next(Alphabet.Length)];
        }
        return sb.ToString();
    }
}
