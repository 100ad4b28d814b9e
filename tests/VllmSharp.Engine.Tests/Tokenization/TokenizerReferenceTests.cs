using System.Text;
using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>
/// Checks one tokenizer against the independent Node reference: ids must match exactly (no
/// tolerance: tokenization is discrete), decoding must reproduce the reference text, and the
/// incremental detokenizer must stream exactly what Decode returns.
/// </summary>
public abstract class TokenizerReferenceTests<TFixture>(TFixture fixture)
    where TFixture : ReferenceTokenizerFixture
{
    protected TFixture Fixture { get; } = fixture;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Encode_ReferenceTexts_MatchNodeReference(bool addSpecialTokens)
    {
        IReadOnlyList<NodeResult> expected = Fixture.Reference(addSpecialTokens);
        var failures = new StringBuilder();
        for (int i = 0; i < Fixture.Texts.Length; i++)
        {
            IReadOnlyList<int> actual = Fixture.Tokenizer.Encode(Fixture.Texts[i], addSpecialTokens);
            if (!actual.SequenceEqual(expected[i].Ids))
            {
                failures.AppendLine($"text #{i} {Quote(Fixture.Texts[i])}\n  expected [{string.Join(' ', expected[i].Ids)}]\n  actual   [{string.Join(' ', actual)}]");
            }
        }

        Assert.True(failures.Length == 0, failures.ToString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Decode_ReferenceIds_MatchesNodeDecoding(bool skipSpecialTokens)
    {
        IReadOnlyList<NodeResult> expected = Fixture.Reference(addSpecialTokens: true);
        var failures = new StringBuilder();
        for (int i = 0; i < Fixture.Texts.Length; i++)
        {
            string want = skipSpecialTokens ? expected[i].Decoded : expected[i].DecodedWithSpecial;
            string actual = Fixture.Tokenizer.Decode(expected[i].Ids, skipSpecialTokens);
            if (actual != want)
            {
                failures.AppendLine($"text #{i}: expected {Quote(want)} actual {Quote(actual)}");
            }
        }

        Assert.True(failures.Length == 0, failures.ToString());
    }

    [Fact]
    public void Decode_EncodedPlainText_RoundTrips()
    {
        foreach (string text in ReferenceTexts.Plain)
        {
            // The texts hold no special-token markup, so decoding gives back the input up to NFC
            // (Qwen3 normalizes). string.Normalize is a no-op under InvariantGlobalization, hence UnicodeNfc.
            string expected = UnicodeNfc.Normalize(text);
            Assert.Equal(expected, UnicodeNfc.Normalize(Fixture.Tokenizer.Decode([.. Fixture.Tokenizer.Encode(text, addSpecialTokens: true)])));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void IncrementalDetokenizer_ReferenceIds_DeltasConcatenateToDecode(bool skipSpecialTokens)
    {
        foreach (NodeResult reference in Fixture.Reference(addSpecialTokens: true))
        {
            var detokenizer = new IncrementalDetokenizer(Fixture.Tokenizer, skipSpecialTokens);
            var streamed = new StringBuilder();
            for (int i = 0; i < reference.Ids.Length; i++)
            {
                string delta = detokenizer.Add(reference.Ids[i]);
                Assert.DoesNotContain('\uFFFD', delta);
                streamed.Append(delta);

                // Text is released as soon as its characters are complete: what Decode gives for
                // the prefix, less the U+FFFD it shows for a character still cut in the middle.
                Assert.Equal(Fixture.Tokenizer.Decode(reference.Ids.AsSpan(0, i + 1), skipSpecialTokens).TrimEnd('\uFFFD'), streamed.ToString());
            }

            streamed.Append(detokenizer.Flush());
            Assert.Equal(Fixture.Tokenizer.Decode(reference.Ids, skipSpecialTokens), streamed.ToString());
        }
    }

    /// <summary>Runs llama.cpp's reference pairs (encode without special tokens) when ../shared is present.</summary>
    protected void AssertLlamaCppPairs(string inputRelativePath)
    {
        string? inputPath = Fixtures.SharedFile(inputRelativePath);
        if (inputPath is null)
        {
            Assert.Skip($"../shared/fixtures/{inputRelativePath} is absent (the llama.cpp reference pairs are only in ../shared).");
        }

        IReadOnlyList<(string Text, int[] Ids)> pairs = LlamaCppVocabTest.Read(inputPath!, inputPath![..^".inp".Length] + ".out");
        Assert.True(pairs.Count >= 46, $"expected at least 46 pairs, got {pairs.Count}");
        var failures = new StringBuilder();
        foreach ((string text, int[] ids) in pairs)
        {
            IReadOnlyList<int> actual = Fixture.Tokenizer.Encode(text, addSpecialTokens: false);
            if (!actual.SequenceEqual(ids))
            {
                failures.AppendLine($"{Quote(text)}\n  expected [{string.Join(' ', ids)}]\n  actual   [{string.Join(' ', actual)}]");
            }
        }

        Assert.True(failures.Length == 0, failures.ToString());
    }

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
