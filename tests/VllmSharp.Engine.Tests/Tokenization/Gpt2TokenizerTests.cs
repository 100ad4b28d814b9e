using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

public sealed class Gpt2TokenizerTests(Gpt2Fixture fixture)
    : TokenizerReferenceTests<Gpt2Fixture>(fixture), IClassFixture<Gpt2Fixture>
{
    [Fact]
    public void Encode_LlamaCppReferencePairs_MatchExactly() => AssertLlamaCppPairs("gguf-vocab/ggml-vocab-gpt-2.gguf.inp");
}
