using Xunit;

namespace VllmSharp.Engine.Tests.Tokenization;

public sealed class Llama3TokenizerTests(Llama3Fixture fixture)
    : TokenizerReferenceTests<Llama3Fixture>(fixture), IClassFixture<Llama3Fixture>
{
}
