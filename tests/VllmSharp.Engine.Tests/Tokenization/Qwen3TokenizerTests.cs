using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

public sealed class Qwen3TokenizerTests(Qwen3Fixture fixture)
    : TokenizerReferenceTests<Qwen3Fixture>(fixture), IClassFixture<Qwen3Fixture>
{
    [Fact]
    public void Encode_LlamaCppReferencePairs_MatchExactly() => AssertLlamaCppPairs("gguf-vocab/ggml-vocab-qwen2.gguf.inp");
}
