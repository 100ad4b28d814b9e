using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

public sealed class HfTokenizerLoadTests
{
    [Fact]
    public void Load_FolderWithoutTokenizerFiles_ThrowsNamingFolderAndFiles()
    {
        string dir = Directory.CreateTempSubdirectory("vllmsharp-empty-").FullName;
        File.WriteAllText(Path.Combine(dir, "vocab.json"), "{}"); // merges.txt missing: not enough

        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(dir));

        Assert.Contains(dir, ex.Message);
        Assert.Contains("tokenizer.json", ex.Message);
        Assert.Contains("merges.txt", ex.Message);
    }

    [Fact]
    public void Load_MissingFolder_Throws()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vllmsharp-no-such-folder-8d3f1");

        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(dir));

        Assert.Contains(dir, ex.Message);
    }

    [Fact]
    public void Load_MalformedTokenizerJson_ThrowsTokenizerLoadException()
    {
        string dir = Directory.CreateTempSubdirectory("vllmsharp-bad-").FullName;
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": ");

        Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(dir));
    }

    [Fact]
    public void Load_UnsupportedModelType_ThrowsNamingType()
    {
        string dir = Directory.CreateTempSubdirectory("vllmsharp-unigram-").FullName;
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), """{"model": {"type": "Unigram", "vocab": []}}""");

        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(dir));

        Assert.Contains("Unigram", ex.Message);
    }

    [Fact]
    public void Load_Gpt2VocabAndMerges_EndOfTextIsSpecialBosAndEos()
    {
        string dir = Fixtures.CreateGpt2VocabMergesDir();
        HfTokenizer tokenizer = HfTokenizer.Load(dir);
        Directory.Delete(dir, recursive: true);

        // encoder.json: 50,257 tokens, "<|endoftext|>" = 50256 (fixture README).
        Assert.Equal(50_257, tokenizer.VocabSize);
        Assert.Equal(50256, tokenizer.BosTokenId);
        Assert.Equal([50256], tokenizer.EosTokenIds);
        Assert.True(tokenizer.IsSpecial(50256));
    }
}
