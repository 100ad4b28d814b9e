using System.Text;
using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

public sealed class TokenizerConfigTests
{
    [Fact]
    public void Parse_TokensAsStringOrObject_ReadsContent()
    {
        TokenizerConfig config = TokenizerConfig.Parse(Encoding.UTF8.GetBytes("""
            {"bos_token": {"content": "<s>", "lstrip": false, "__type": "AddedToken"}, "eos_token": "</s>",
             "add_bos_token": true, "add_eos_token": false, "tokenizer_class": "LlamaTokenizer", "unk_token": null}
            """));

        Assert.Equal("<s>", config.BosToken);
        Assert.Equal("</s>", config.EosToken);
        Assert.Null(config.UnkToken);
        Assert.True(config.AddBosToken);
        Assert.False(config.AddEosToken);
        Assert.Equal("LlamaTokenizer", config.TokenizerClass);
    }

    [Fact]
    public void Parse_ChatTemplateList_TakesDefault()
    {
        TokenizerConfig config = TokenizerConfig.Parse(Encoding.UTF8.GetBytes("""
            {"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}
            """));

        Assert.Equal("D", config.ChatTemplate);
    }

    [Fact]
    public void WithGenerationConfig_EosIntOrList_ReadsAll()
    {
        var empty = new TokenizerConfig();
        Assert.Equal([7], TokenizerConfig.WithGenerationConfig(empty, """{"eos_token_id": 7}"""u8).GenerationEosTokenIds);
        TokenizerConfig list = TokenizerConfig.WithGenerationConfig(empty, """{"eos_token_id": [2, 5], "bos_token_id": 1}"""u8);
        Assert.Equal([2, 5], list.GenerationEosTokenIds);
        Assert.Equal(1, list.GenerationBosTokenId);
    }

    [Fact]
    public void Load_GenerationConfigEosList_EosTokenIdsIsUnionTokenizerFirst()
    {
        string dir = TinySentencePieceModel.Create(
            false,
            new { tokenizer_class = "LlamaTokenizer", bos_token = "<s>", eos_token = "</s>", chat_template = "inline" },
            new { eos_token_id = new[] { 5, 2 }, bos_token_id = 1 });

        HfTokenizer tokenizer = HfTokenizer.Load(dir);

        Assert.Equal([TinySentencePieceModel.Eos, 5], tokenizer.EosTokenIds);
        Assert.Equal(TinySentencePieceModel.Bos, tokenizer.BosTokenId);
        Assert.Equal("inline", tokenizer.ChatTemplate);
        Assert.True(tokenizer.IsSpecial(TinySentencePieceModel.Eos));
        Assert.False(tokenizer.IsSpecial(TinySentencePieceModel.Hello));
        Assert.Equal("▁Hello", tokenizer.IdToToken(TinySentencePieceModel.Hello));
        Assert.Equal(TinySentencePieceModel.Hello, tokenizer.TokenToId("▁Hello"));
        Assert.Null(tokenizer.TokenToId("not a token"));
    }

    [Fact]
    public void Load_ChatTemplateJinjaFile_OverridesConfigTemplate()
    {
        string dir = TinySentencePieceModel.Create(false, new { chat_template = "from config" });
        File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), "from file");

        Assert.Equal("from file", HfTokenizer.Load(dir).ChatTemplate);
    }

    [Fact]
    public void Load_LlamaClassWithAddBosFalse_DoesNotAddBos()
    {
        string dir = TinySentencePieceModel.Create(false, new { tokenizer_class = "LlamaTokenizerFast", bos_token = "<s>", eos_token = "</s>", add_bos_token = false, add_eos_token = true });

        // Transformers rebuilds a Llama tokenizer's post-processor from add_bos_token / add_eos_token.
        Assert.Equal([TinySentencePieceModel.Hello, TinySentencePieceModel.Eos], HfTokenizer.Load(dir).Encode("Hello"));
    }

    [Fact]
    public void Load_Qwen3Fixture_ReadsSpecialTokensAndTemplate()
    {
        HfTokenizer tokenizer = HfTokenizer.Load(Fixtures.TokenizerDir("qwen3"));

        // Facts from the fixture README: 151,643 BPE ids + 26 added tokens; eos <|im_end|>; no bos.
        Assert.Equal(151_669, tokenizer.VocabSize);
        Assert.Null(tokenizer.BosTokenId);
        Assert.Equal([151645], tokenizer.EosTokenIds);
        Assert.Equal(151645, tokenizer.TokenToId("<|im_end|>"));
        Assert.True(tokenizer.IsSpecial(151645));
        Assert.False(tokenizer.IsSpecial(tokenizer.TokenToId("<think>")!.Value));
        Assert.Equal(4116, tokenizer.ChatTemplate!.Length);
        Assert.Equal(0, tokenizer.DecodeStripLeadingSpaces);
    }
}
