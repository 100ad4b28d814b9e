using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>
/// SentencePiece-style BPE (Llama 2 / Mistral layouts) on a hand-made vocabulary, with the
/// expected ids worked out by hand in <see cref="TinySentencePieceModel"/>.
/// </summary>
public sealed class SentencePieceStyleTests
{
    private static readonly object s_config = new { tokenizer_class = "LlamaTokenizer", bos_token = "<s>", eos_token = "</s>" };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Encode_HelloWithAccent_MergesAndFallsBackToBytes(bool metaspace)
    {
        HfTokenizer tokenizer = HfTokenizer.Load(TinySentencePieceModel.Create(metaspace, s_config));

        // "é" is not in the vocabulary: its UTF-8 bytes C3 A9 become byte tokens.
        int[] expected = [TinySentencePieceModel.Bos, TinySentencePieceModel.Hello, TinySentencePieceModel.Space, TinySentencePieceModel.ByteToken(0xC3), TinySentencePieceModel.ByteToken(0xA9)];
        Assert.Equal(expected, tokenizer.Encode("Hello é"));
        Assert.Equal(expected[1..], tokenizer.Encode("Hello é", addSpecialTokens: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Decode_LeadingSpacePiece_IsStrippedOnlyAtTextStart(bool metaspace)
    {
        HfTokenizer tokenizer = HfTokenizer.Load(TinySentencePieceModel.Create(metaspace, s_config));
        int[] ids = [TinySentencePieceModel.Bos, TinySentencePieceModel.Hello, TinySentencePieceModel.Space, TinySentencePieceModel.ByteToken(0xC3), TinySentencePieceModel.ByteToken(0xA9)];

        Assert.Equal("Hello é", tokenizer.Decode(ids));
        Assert.Equal("<s> Hello é", tokenizer.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(" Hello", tokenizer.Decode([TinySentencePieceModel.Space, TinySentencePieceModel.Hello]));
    }

    [Fact]
    public void IncrementalDetokenizer_ByteFallbackCharacter_IsHeldUntilComplete()
    {
        HfTokenizer tokenizer = HfTokenizer.Load(TinySentencePieceModel.Create(false, s_config));
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        // 🦙 is F0 9F A6 99: nothing may be emitted until its fourth byte arrives.
        Assert.Equal("", detokenizer.Add(TinySentencePieceModel.Bos));
        Assert.Equal("Hello", detokenizer.Add(TinySentencePieceModel.Hello));
        Assert.Equal(" ", detokenizer.Add(TinySentencePieceModel.Space));
        Assert.Equal("", detokenizer.Add(TinySentencePieceModel.ByteToken(0xF0)));
        Assert.Equal("", detokenizer.Add(TinySentencePieceModel.ByteToken(0x9F)));
        Assert.Equal("", detokenizer.Add(TinySentencePieceModel.ByteToken(0xA6)));
        Assert.Equal("🦙", detokenizer.Add(TinySentencePieceModel.ByteToken(0x99)));
        Assert.Equal("", detokenizer.Flush());
        Assert.Equal(7, detokenizer.TokenCount);
    }

    [Fact]
    public void IncrementalDetokenizer_WithPrompt_KeepsSpaceOfFirstGeneratedPiece()
    {
        HfTokenizer tokenizer = HfTokenizer.Load(TinySentencePieceModel.Create(false, s_config));
        var withoutPrompt = new IncrementalDetokenizer(tokenizer);
        var withPrompt = new IncrementalDetokenizer(tokenizer, promptTokenIds: [TinySentencePieceModel.Bos, TinySentencePieceModel.Hello]);

        // Decode strips the space of "▁Hello" only at the very start of the text.
        Assert.Equal("Hello", withoutPrompt.Add(TinySentencePieceModel.Hello));
        Assert.Equal(" Hello", withPrompt.Add(TinySentencePieceModel.Hello));
    }

    [Fact]
    public void IncrementalDetokenizer_TruncatedCharacter_FlushGivesReplacementLikeDecode()
    {
        HfTokenizer tokenizer = HfTokenizer.Load(TinySentencePieceModel.Create(false, s_config));
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        Assert.Equal("Hello", detokenizer.Add(TinySentencePieceModel.Hello));
        Assert.Equal("", detokenizer.Add(TinySentencePieceModel.ByteToken(0xE4)));
        Assert.Equal("\uFFFD", detokenizer.Flush());
        Assert.Equal("Hello\uFFFD", tokenizer.Decode([TinySentencePieceModel.Hello, TinySentencePieceModel.ByteToken(0xE4)]));
    }

    [Fact]
    public void Encode_AddedTokenWithLStrip_SwallowsPrecedingSpace()
    {
        HfTokenizer tokenizer = HfTokenizer.Load(TinySentencePieceModel.Create(false, s_config));

        // "Hello <mask>Hello": the space before <mask> belongs to the token; the text after it is a
        // new piece, which the Prepend normalizer starts with "▁" again (Hugging Face behaviour).
        Assert.Equal([TinySentencePieceModel.Hello, TinySentencePieceModel.Mask, TinySentencePieceModel.Hello], tokenizer.Encode("Hello <mask>Hello", addSpecialTokens: false));
        Assert.False(tokenizer.IsSpecial(TinySentencePieceModel.Mask));
        Assert.Equal(270, tokenizer.VocabSize);
        Assert.Equal("Hello<mask> Hello", tokenizer.Decode([TinySentencePieceModel.Hello, TinySentencePieceModel.Mask, TinySentencePieceModel.Hello]));
    }
}
