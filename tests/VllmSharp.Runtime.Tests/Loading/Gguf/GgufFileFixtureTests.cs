using VllmSharp.Runtime.Loading.Gguf;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

/// <summary>Reads llama.cpp's vocab-only GGUF files; expected values are the fixtures README table.</summary>
public sealed class GgufFileFixtureTests
{
    private static string Fixture(string name)
    {
        string? dir = RawGguf.VocabFixtures();
        if (dir is null) Assert.Skip("../shared/fixtures/gguf-vocab is absent (llama.cpp's vocab GGUFs are only in ../shared).");
        return Path.Combine(dir, name);
    }

    [Theory]
    [InlineData("ggml-vocab-bert-bge.gguf", 3u, "bert", "bert", "bert-bge", 30522, 0)]
    [InlineData("ggml-vocab-deepseek-coder.gguf", 3u, "llama", "gpt2", "deepseek-coder", 32256, 31757)]
    [InlineData("ggml-vocab-falcon.gguf", 3u, "falcon", "gpt2", "falcon", 65024, 64784)]
    [InlineData("ggml-vocab-gpt-2.gguf", 3u, "gpt2", "gpt2", "gpt-2", 50257, 50000)]
    [InlineData("ggml-vocab-llama-spm.gguf", 3u, "llama", "llama", "default", 32000, 0)]
    [InlineData("ggml-vocab-mpt.gguf", 3u, "mpt", "gpt2", "mpt", 50432, 50009)]
    [InlineData("ggml-vocab-qwen2.gguf", 3u, "qwen2", "gpt2", "qwen2", 151936, 151387)]
    [InlineData("ggml-vocab-qwen35.gguf", 3u, "qwen2", "gpt2", "qwen35", 151936, 151387)]
    [InlineData("ggml-vocab-starcoder.gguf", 3u, "starcoder2", "gpt2", "starcoder", 49152, 48872)]
    [InlineData("ggml-vocab-aquila.gguf", 2u, "llama", "gpt2", null, 100008, 99743)]
    [InlineData("ggml-vocab-baichuan.gguf", 3u, "baichuan", "llama", null, 64000, 0)]
    [InlineData("ggml-vocab-gpt-neox.gguf", 3u, "gptneox", "gpt2", null, 50432, 50009)]
    [InlineData("ggml-vocab-nomic-bert-moe.gguf", 3u, "nomic-bert-moe", "t5", "default", 250048, 0)]
    public void Open_VocabFixture_MatchesReadmeTable(string file, uint version, string arch, string model, string? pre, int tokens, int merges)
    {
        using var f = GgufFile.Open(Fixture(file));
        Assert.Equal(version, f.Version);
        Assert.Empty(f.Tensors);
        Assert.Equal(arch, f.Get<string>("general.architecture"));
        Assert.Equal(model, f.Get<string>("tokenizer.ggml.model"));
        Assert.Equal(pre, f.TryGet("tokenizer.ggml.pre", out string p) ? p : null);
        string[] tokenList = f.Get<string[]>("tokenizer.ggml.tokens");
        Assert.Equal(tokens, tokenList.Length);
        Assert.Equal(merges, f.TryGet("tokenizer.ggml.merges", out string[] m) ? m.Length : 0);
        if (f.TryGet("tokenizer.ggml.token_type", out int[] types)) Assert.Equal(tokens, types.Length);
        if (f.TryGet("tokenizer.ggml.scores", out float[] scores)) Assert.Equal(tokens, scores.Length);
        Assert.True(f.Get<long>($"{arch}.block_count") > 0);
    }

    [Fact]
    public void Open_Gpt2Vocab_TokensAreTheByteLevelPieces()
    {
        using var f = GgufFile.Open(Fixture("ggml-vocab-gpt-2.gguf"));
        string[] tokens = f.Get<string[]>("tokenizer.ggml.tokens");
        // GPT-2's encoder.json starts "!": 0 and ends "<|endoftext|>": 50256; the first merge is "Ġ t".
        Assert.Equal("!", tokens[0]);
        Assert.Equal("<|endoftext|>", tokens[50256]);
        Assert.Equal("Ġ t", f.Get<string[]>("tokenizer.ggml.merges")[0]);
        Assert.Equal(50256, f.Get<int>("tokenizer.ggml.eos_token_id"));
    }

    [Fact]
    public void Open_Qwen2Vocab_HasChatTemplate()
    {
        using var f = GgufFile.Open(Fixture("ggml-vocab-qwen2.gguf"));
        Assert.Contains("<|im_start|>", f.Get<string>("tokenizer.chat_template"));
    }

    [Fact]
    public void Open_TruncatedFixture_ThrowsModelLoadException()
    {
        // A vocab-only file ends with its last metadata value, so any cut must be reported, never read past.
        string source = Fixture("ggml-vocab-llama-spm.gguf");
        byte[] bytes = File.ReadAllBytes(source);
        using var dir = new TempDirectory();
        string path = dir.File("cut.gguf");
        var random = new Random(7);
        for (int i = 0; i < 8; i++)
        {
            int length = random.Next(bytes.Length);
            File.WriteAllBytes(path, bytes[..length]);
            var e = Assert.Throws<VllmSharp.Runtime.Loading.ModelLoadException>(() => GgufFile.Open(path));
            Assert.Matches(length < 24 ? "truncated|too short" : "truncated|beyond the end of the file", e.Problem);
        }
    }
}
