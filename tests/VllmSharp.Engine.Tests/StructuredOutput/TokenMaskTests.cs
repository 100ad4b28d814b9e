using System.Text;
using System.Text.RegularExpressions;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.StructuredOutput;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>Token masks over the real Qwen vocabulary, checked against token-by-token walks of the DFA.</summary>
public sealed class TokenMaskTests
{

    [Theory]
    [InlineData("[0-9]{1,3}")]
    [InlineData("(yes|no)")]
    [InlineData("\"[^\"]*\"")]
    [InlineData("[а-я]+")]
    public void Mask_FromStart_EqualsTokensWhoseBytesTheDfaAccepts(string pattern)
    {
        var tokenizer = ConstrainedWalk.Tokenizer;
        var grammar = StructuredOutputManager.For(tokenizer).Compile(StructuredOutputsParams.ForRegex(pattern));
        ulong[] mask = grammar.Mask(grammar.StartState);
        var dfa = new LazyDfa(new ByteNfa(RegexParser.ParseFullMatch(pattern)));
        int allowed = 0;
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            bool expected = !tokenizer.IsSpecial(id) && tokenizer.GetTokenBytes(id).Length > 0 && Viable(dfa, tokenizer.GetTokenBytes(id));
            bool actual = (mask[id >> 6] & (1UL << id)) != 0;
            if (tokenizer.EosTokenIds.Contains(id)) continue; // EOS follows the accepting rule, checked below
            Assert.True(expected == actual, $"token {id} {tokenizer.IdToToken(id)}: expected {expected}");
            if (actual) allowed++;
        }
        Assert.True(allowed > 0);
        foreach (int eos in tokenizer.EosTokenIds) Assert.Equal(0UL, mask[eos >> 6] & (1UL << eos)); // start is not accepting
    }

    [Fact]
    public void Mask_AcceptingStateWithNoContinuation_AllowsOnlyEos()
    {
        var matcher = StructuredOutputManager.For(ConstrainedWalk.Tokenizer).CreateMatcher(StructuredOutputsParams.ForChoice("ok"));
        Assert.True(matcher.Advance(ConstrainedWalk.Tokenizer.Encode("ok", false).Single()));
        ulong[] mask = matcher.AllowedTokens();
        var eos = ConstrainedWalk.Tokenizer.EosTokenIds;
        Assert.Equal(eos.Count, StructuredOutputGrammar.CountAllowed(mask));
        foreach (int id in eos) Assert.NotEqual(0UL, mask[id >> 6] & (1UL << id));
    }

    [Fact]
    public void Matcher_RejectedToken_OnlyEosAfterwards()
    {
        var matcher = StructuredOutputManager.For(ConstrainedWalk.Tokenizer).CreateMatcher(StructuredOutputsParams.ForRegex("[0-9]+"));
        Assert.False(matcher.Advance(ConstrainedWalk.Tokenizer.Encode("abc", false)[0]));
        Assert.True(matcher.IsTerminated);
        Assert.Equal(ConstrainedWalk.Tokenizer.EosTokenIds.Count, StructuredOutputGrammar.CountAllowed(matcher.AllowedTokens()));
    }

    [Theory]
    [InlineData("[a-z]{2,5}@[a-z]{2,4}\\.(com|org)")]
    [InlineData("(\\+|-)?[0-9]{1,4}(\\.[0-9]{1,2})?")]
    [InlineData("(héllo|wörld|日本語|😀){1,3}")]
    [InlineData("\\w{3} \\d{2}")]
    public void RandomWalk_Regex_EveryCompletedOutputMatches(string pattern)
    {
        var reference = new Regex("^(?:" + pattern + ")$(?![\\s\\S])", RegexOptions.ECMAScript);
        int completed = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var result = ConstrainedWalk.Run(StructuredOutputsParams.ForRegex(pattern), seed);
            if (!result.Completed) continue;
            completed++;
            Assert.True(reference.IsMatch(result.Text), $"/{pattern}/ produced \"{result.Text}\"");
        }
        Assert.Equal(20, completed); // every walk is bounded by the pattern itself
    }

    [Fact]
    public void RandomWalk_Choice_OutputIsOneOfTheChoices()
    {
        string[] choices = ["positive", "negative", "neutral", "Positive!", "日本"];
        var seen = new HashSet<string>();
        for (int seed = 0; seed < 40; seed++)
        {
            var result = ConstrainedWalk.Run(StructuredOutputsParams.ForChoice(choices), seed);
            Assert.True(result.Completed);
            Assert.Contains(result.Text, choices);
            seen.Add(result.Text);
        }
        Assert.True(seen.Count >= 3, "40 uniform walks should reach several of the choices");
    }

    [Fact]
    public void Compile_SameConstraintTwice_ReturnsTheCachedGrammar()
    {
        var manager = StructuredOutputManager.For(ConstrainedWalk.Tokenizer);
        Assert.Same(manager.Compile(StructuredOutputsParams.ForRegex("a+b")), manager.Compile(StructuredOutputsParams.ForRegex("a+b")));
    }

    private static bool Viable(LazyDfa dfa, ReadOnlySpan<byte> bytes)
    {
        int state = dfa.Start;
        foreach (byte b in bytes)
        {
            state = dfa.Next(state, b);
            if (state == LazyDfa.Dead) return false;
        }
        return true;
    }
}
