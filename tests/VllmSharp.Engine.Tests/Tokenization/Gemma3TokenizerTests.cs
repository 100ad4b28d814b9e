using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

public sealed class Gemma3TokenizerTests(Gemma3Fixture fixture)
    : TokenizerReferenceTests<Gemma3Fixture>(fixture), IClassFixture<Gemma3Fixture>
{
    [Fact]
    public void Encode_LlamaCppReferencePairs_MatchExactly() => AssertLlamaCppPairs("tokenizers/gemma3/reference/ggml-vocab-gemma-4.gguf.inp");
}
