using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Loading.Gguf;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>
/// GgufTokenizer against llama.cpp's own reference tokenizations (models/ggml-vocab-*.gguf.inp/.out,
/// produced by llama.cpp's test-tokenizer-0 without special tokens): every id must match exactly.
/// </summary>
public class GgufTokenizerTests
{
    private const string Separator = "\n__ggml_vocab_test__\n";

    public static TheoryData<string> VocabNames => new() { "qwen2", "qwen35", "gpt-2", "llama-spm" };

    [Theory]
    [MemberData(nameof(VocabNames))]
    public void Encode_LlamaCppReferenceStrings_MatchesExactly(string name)
    {
        GgufTokenizer tokenizer = LoadOrSkip(name);
        (string[] inputs, string[] expected) = ReadReference(name);
        var mismatches = new List<string>();
        for (int i = 0; i < inputs.Length; i++)
        {
            string actual = string.Join(' ', tokenizer.Encode(inputs[i], addSpecialTokens: false));
            if (actual != expected[i])
            {
                mismatches.Add($"#{i} {inputs[i]}: expected [{expected[i]}] got [{actual}]");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
    }

    [Theory]
    [MemberData(nameof(VocabNames))]
    public void Decode_ReferenceStrings_RoundTrips(string name)
    {
        GgufTokenizer tokenizer = LoadOrSkip(name);
        (string[] inputs, _) = ReadReference(name);
        foreach (string input in inputs)
        {
            int[] ids = [.. tokenizer.Encode(input, addSpecialTokens: false)];
            // SentencePiece decoding drops the one space the encoder prepended, so the text comes back whole.
            Assert.Equal(input, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Load_LlamaSpm_ReadsSpecialTokensAndAddsBos()
    {
        GgufTokenizer tokenizer = LoadOrSkip("llama-spm");
        Assert.Equal("llama", tokenizer.Model);
        Assert.Equal(32000, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal([2], tokenizer.EosTokenIds);
        Assert.True(tokenizer.IsSpecial(1));
        Assert.Equal(1, tokenizer.DecodeStripLeadingSpaces);
        // " Hello world" with the prefix space: llama.cpp's reference line for that input is "29871 15043 3186".
        Assert.Equal([1, 29871, 15043, 3186], tokenizer.Encode(" Hello world"));
        Assert.Equal("<0x0A>", tokenizer.IdToToken(13));
        Assert.Equal([(byte)'\n'], tokenizer.GetTokenBytes(13).ToArray());
    }

    [Fact]
    public void Load_Qwen2_ReadsEosSpecialTextAndChatTemplate()
    {
        GgufTokenizer tokenizer = LoadOrSkip("qwen2");
        Assert.Equal("gpt2", tokenizer.Model);
        Assert.Equal("qwen2", tokenizer.Pre);
        int imStart = tokenizer.TokenToId("<|im_start|>") ?? throw new InvalidOperationException("no <|im_start|>");
        Assert.True(tokenizer.IsSpecial(imStart));
        Assert.NotEmpty(tokenizer.EosTokenIds);
        // Special text is always cut out as its token; Qwen2 adds no BOS.
        IReadOnlyList<int> ids = tokenizer.Encode("<|im_start|>Hello");
        Assert.Equal([imStart, 9707], ids);
        Assert.Equal("Hello", tokenizer.Decode([.. ids]));
        Assert.Equal("<|im_start|>Hello", tokenizer.Decode([.. ids], skipSpecialTokens: false));
    }

    [Fact]
    public void Load_Qwen35_ReadsChatTemplate()
    {
        GgufTokenizer tokenizer = LoadOrSkip("qwen35");
        Assert.NotNull(tokenizer.ChatTemplate);
        Assert.Contains("im_start", tokenizer.ChatTemplate);
    }

    [Fact]
    public void Encode_SyntheticSpmVocab_MergesByScoreNotPosition()
    {
        // Hand-made vocabulary: in "▁abc" the pair "ab" (score -1) must merge before the leftmost "▁a"
        // (score -5), then "abc" (-3); a leftmost-first or rank-free merger would give [▁a, bc].
        string[] tokens = ["<unk>", "<s>", "</s>", "<0xC3>", "<0xA9>", "▁", "a", "b", "c", "▁a", "ab", "bc", "abc"];
        float[] scores = [0, 0, 0, 0, 0, -10, -10, -10, -10, -5, -1, -2, -3];
        int[] types = [2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1];
        string path = Path.Combine(Directory.CreateTempSubdirectory("vllmsharp-ggufvocab-").FullName, "spm.gguf");
        var writer = new GgufWriter(path);
        writer.AddMetadata("tokenizer.ggml.model", "llama");
        writer.AddMetadata("tokenizer.ggml.tokens", tokens);
        writer.AddMetadata("tokenizer.ggml.scores", scores);
        writer.AddMetadata("tokenizer.ggml.token_type", types);
        writer.AddMetadata("tokenizer.ggml.bos_token_id", 1u);
        writer.AddMetadata("tokenizer.ggml.eos_token_id", 2u);
        writer.AddMetadata("tokenizer.chat_template", "{{ messages }}");
        writer.Write();

        GgufTokenizer tokenizer = GgufTokenizer.Load(path);
        Assert.Equal([1, 5, 12], tokenizer.Encode("abc"));
        // "é" is not a token: its UTF-8 bytes C3 A9 fall back to byte tokens; "</s>" text is the eos token,
        // and the text after it gets the prefix space again ("▁a").
        Assert.Equal([5, 3, 4, 2, 9], tokenizer.Encode("é</s>a", addSpecialTokens: false));
        Assert.Equal("é a", tokenizer.Decode([5, 3, 4, 2, 9]));
        Assert.Equal("é</s> a", tokenizer.Decode([5, 3, 4, 2, 9], skipSpecialTokens: false));
        Assert.Equal("{{ messages }}", tokenizer.ChatTemplate);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal([2], tokenizer.EosTokenIds);
    }

    [Fact]
    public void Load_UnsupportedModel_ThrowsTokenizerLoadException()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("vllmsharp-ggufvocab-").FullName, "wpm.gguf");
        var writer = new GgufWriter(path);
        writer.AddMetadata("tokenizer.ggml.model", "bert");
        writer.AddMetadata("tokenizer.ggml.tokens", new[] { "[PAD]" });
        writer.Write();
        Assert.Throws<TokenizerLoadException>(() => GgufTokenizer.Load(path));
    }

    private static GgufTokenizer LoadOrSkip(string name)
    {
        string? path = Fixtures.SharedFile($"gguf-vocab/ggml-vocab-{name}.gguf");
        if (path is null)
        {
            Assert.Skip($"../shared/fixtures/gguf-vocab/ggml-vocab-{name}.gguf is absent (the llama.cpp vocab fixtures live only in ../shared).");
        }

        return GgufTokenizer.Load(path);
    }

    private static (string[] Inputs, string[] Expected) ReadReference(string name)
    {
        string path = Fixtures.SharedFile($"gguf-vocab/ggml-vocab-{name}.gguf.inp")!;
        string[] inputs = File.ReadAllText(path).Split(Separator);
        string[] lines = File.ReadAllText(path[..^4] + ".out").Split('\n');
        int count = inputs.Length - 1; // the file ends with a separator
        Assert.True(count >= 40 && lines.Length > count, $"{path}: expected at least 40 reference strings and as many .out lines");
        var expected = new string[count];
        for (int i = 0; i < count; i++)
        {
            expected[i] = string.Join(' ', lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        return (inputs[..count], expected);
    }
}
