using VllmSharp.Engine.Tests.TestSupport;
using VllmSharp.Engine.Tokenization;
using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

public sealed class BuiltinTokenizerTests
{
    [Fact]
    public void WriteTo_EmptyFolder_WritesQwen3FilesByteForByte()
    {
        string root = Directory.CreateTempSubdirectory("vllmsharp-builtin-").FullName;
        try
        {
            string dir = Path.Combine(root, "model");

            BuiltinTokenizer.WriteTo(dir);

            string fixture = Fixtures.TokenizerDir("qwen3");
            Assert.Equal(File.ReadAllBytes(Path.Combine(fixture, "tokenizer.json")), File.ReadAllBytes(Path.Combine(dir, "tokenizer.json")));
            Assert.Equal(File.ReadAllBytes(Path.Combine(fixture, "tokenizer_config.json")), File.ReadAllBytes(Path.Combine(dir, "tokenizer_config.json")));
            Assert.Equal(BuiltinTokenizer.VocabSize, HfTokenizer.Load(dir).VocabSize);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Load_FromResources_EncodesChatMarkup()
    {
        HfTokenizer tokenizer = BuiltinTokenizer.Load();

        // Qwen3 ids of "<|im_start|>user\nhi<|im_end|>", as given by the Node reference.
        Assert.Equal([151644, 872, 198, 6023, 151645], tokenizer.Encode("<|im_start|>user\nhi<|im_end|>"));
        Assert.Equal("<|im_end|>", tokenizer.IdToToken(tokenizer.EosTokenIds[0]));
    }
}
