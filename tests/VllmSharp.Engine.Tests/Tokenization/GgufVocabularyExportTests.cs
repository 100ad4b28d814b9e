using VllmSharp.Engine.Core;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

/// <summary>
/// The built-in Qwen tokenizer written into GGUF metadata (as create-model --format gguf does) and read back by
/// <see cref="GgufTokenizer"/> encodes exactly as the HF tokenizer it came from; and a GGUF model without a
/// tokenizer is refused as a broken model file.
/// </summary>
public sealed class GgufVocabularyExportTests : IDisposable
{
    private static readonly string[] s_texts =
    [
        "Hello, world!",
        "  leading spaces and trailing  ",
        "I'm sure they'll've done it; DON'T shout.",
        "数字 12345 and 3.14159, 1,000,000",
        "中文混合English文本，标点。",
        "日本語のテキストとカタカナ",
        "한국어 문장입니다",
        "emoji 😀👍🏽 and 🇺🇸 flags",
        "tabs\tand\nnewlines\r\n\n\nend",
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        "<think>reasoning</think> answer <tool_call>{\"a\":1}</tool_call>",
        "<|endoftext|><|endoftext|>x",
        "code: for (int i = 0; i < n; i++) { sum += a[i]; }",
        "Ünïcödé àccents naïve café",
        "",
    ];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vllmsharp-gguf-vocab-" + Guid.NewGuid().ToString("N"));

    public GgufVocabularyExportTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteVocabularyOnly(GgufVocabulary vocabulary)
    {
        string path = Path.Combine(_dir, "vocab.gguf");
        var writer = new GgufWriter(path);
        vocabulary.WriteTo(writer);
        writer.Write();
        return path;
    }

    [Fact]
    public void Builtin_WrittenToGguf_EncodesAndDecodesLikeHfTokenizer()
    {
        HfTokenizer hf = BuiltinTokenizer.Load();
        GgufVocabulary vocabulary = GgufVocabularyExport.Builtin(modelBosTokenId: 151643, modelEosTokenIds: [151643]).PadTo(151936);
        GgufTokenizer gguf = GgufTokenizer.Load(WriteVocabularyOnly(vocabulary));

        Assert.Equal("qwen2", gguf.Pre);
        Assert.Equal(151936, gguf.VocabSize);
        foreach (string text in s_texts)
        {
            foreach (bool special in new[] { true, false })
            {
                Assert.Equal(hf.Encode(text, special), gguf.Encode(text, special));
            }

            int[] ids = [.. hf.Encode(text)];
            Assert.Equal(hf.Decode(ids, skipSpecialTokens: false), gguf.Decode(ids, skipSpecialTokens: false));
        }
    }

    [Fact]
    public void Builtin_WrittenToGguf_KeepsSpecialIdsAndChatTemplate()
    {
        HfTokenizer hf = BuiltinTokenizer.Load();
        GgufVocabulary vocabulary = GgufVocabularyExport.Builtin(modelBosTokenId: 151643, modelEosTokenIds: [151643]);
        Assert.Equal(BuiltinTokenizer.VocabSize, vocabulary.Count);
        Assert.Equal(GgufVocabulary.Control, vocabulary.TokenTypes[151645]); // <|im_end|>, special
        Assert.Equal(GgufVocabulary.Control, vocabulary.TokenTypes[151659]); // <|fim_prefix|>: not special, but looks it
        Assert.Equal(GgufVocabulary.UserDefined, vocabulary.TokenTypes[151667]); // <think>
        Assert.Equal(GgufVocabulary.Normal, vocabulary.TokenTypes[0]);
        Assert.Equal(hf.IdToToken(151387), vocabulary.Tokens[151387]);

        GgufTokenizer gguf = GgufTokenizer.Load(WriteVocabularyOnly(vocabulary));
        Assert.Equal(hf.ChatTemplate, gguf.ChatTemplate);
        Assert.Equal(151643, gguf.BosTokenId);
        Assert.Contains(151645, gguf.EosTokenIds); // the tokenizer's eos, <|im_end|>
        Assert.Contains(151643, gguf.EosTokenIds); // the model's eos, written as end-of-turn
        Assert.True(gguf.IsSpecial(151645));
    }

    [Fact]
    public void ByteLevelTestVocabulary_Gguf_EncodesBytesAndControlTokens()
    {
        GgufTokenizer gguf = GgufTokenizer.Load(WriteVocabularyOnly(ByteLevelTestVocabulary.Create().PadTo(300)));
        Assert.Equal(ByteLevelTestVocabulary.Encode("héllo 😀"), gguf.Encode("héllo 😀"));
        Assert.Equal([ByteLevelTestVocabulary.ImStart, (int)'x', ByteLevelTestVocabulary.ImEnd], gguf.Encode("<|im_start|>x<|im_end|>"));
        Assert.Equal("héllo 😀", gguf.Decode(ByteLevelTestVocabulary.Encode("héllo 😀")));
    }

    [Fact]
    public void PaddedVocabulary_UnusedTokens_DecodeToNothingAsLlamaCpp()
    {
        GgufVocabulary vocabulary = ByteLevelTestVocabulary.Create().PadTo(300);
        int pad = vocabulary.Count - 1;
        Assert.Equal(GgufVocabulary.Unused, vocabulary.TokenTypes[pad]);
        GgufTokenizer gguf = GgufTokenizer.Load(WriteVocabularyOnly(vocabulary));
        Assert.Equal("ab", gguf.Decode([(int)'a', pad, (int)'b'], skipSpecialTokens: false));
        Assert.Equal(0, gguf.GetTokenBytes(pad).Length);
    }

    [Fact]
    public void LoadTokenizer_GgufModelWithoutTokenizer_ModelLoadExceptionNamingFileAndKey()
    {
        string path = Path.Combine(_dir, "model.gguf");
        var writer = new GgufWriter(path);
        GgufArchitecture.WriteConfig(writer, TestModelPresets.TinyQwen2.Config);
        writer.Write();
        var e = Assert.Throws<ModelLoadException>(() => EngineFactory.LoadTokenizer(path));
        Assert.Equal(path, e.Path);
        Assert.Contains("tokenizer.ggml.model", e.Message);
    }

    [Fact]
    public void LoadTokenizer_GgufPath_PicksGgufTokenizerAndFolderPicksHf()
    {
        string path = WriteVocabularyOnly(ByteLevelTestVocabulary.Create());
        Assert.IsType<GgufTokenizer>(EngineFactory.LoadTokenizer(path));
        BuiltinTokenizer.WriteTo(Path.Combine(_dir, "hf"));
        Assert.IsType<HfTokenizer>(EngineFactory.LoadTokenizer(Path.Combine(_dir, "hf")));
    }
}
