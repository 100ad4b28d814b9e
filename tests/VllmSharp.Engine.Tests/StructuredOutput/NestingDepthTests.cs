using System.Diagnostics;
using VllmSharp.Engine.StructuredOutput;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// Recursion is unrolled to a fixed depth (<see cref="JsonSchemaCompiler.AnyValueDepth"/>,
/// <see cref="JsonSchemaCompiler.MaxRefDepth"/>): documents nested that deep must be accepted, one level more refused,
/// and the deeper automaton must still compile quickly (it is built lazily, so depth costs NFA states only).
/// </summary>
public class NestingDepthTests
{
    private static string NestedObject(int depth) => depth == 0 ? "1" : "{\"a\": " + NestedObject(depth - 1) + "}";
    private static string NestedArray(int depth) => depth == 0 ? "1" : "[" + NestedArray(depth - 1) + "]";

    [Fact]
    public void JsonObjectMode_NestedToTheLimit_Accepted_OneDeeper_Refused()
    {
        var dfa = new LazyDfa(new ByteNfa(JsonSchemaCompiler.AnyJsonObject()));
        int limit = JsonSchemaCompiler.AnyValueDepth;
        Assert.True(RegexDfaTests.Accepts(dfa, NestedObject(limit)));
        Assert.True(RegexDfaTests.Accepts(dfa, "{\"a\": " + NestedArray(limit - 1) + "}"));
        Assert.False(RegexDfaTests.Accepts(dfa, NestedObject(limit + 1)));
    }

    [Fact]
    public void RecursiveRef_NestedToTheLimit_Accepted()
    {
        const string schema = """{"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"}},"additionalProperties":false}},"$ref":"#/$defs/node"}""";
        var dfa = new LazyDfa(new ByteNfa(JsonSchemaCompiler.Compile(schema)));
        string doc = "{}";
        for (int i = 1; i < JsonSchemaCompiler.MaxRefDepth; i++) doc = "{\"next\": " + doc + "}";
        Assert.True(RegexDfaTests.Accepts(dfa, doc));
    }

    [Fact]
    public void JsonObjectMode_CompilesQuickly()
    {
        var clock = Stopwatch.StartNew();
        var nfa = new ByteNfa(JsonSchemaCompiler.AnyJsonObject());
        clock.Stop();
        Assert.True(nfa.Count < 200_000, $"{nfa.Count} NFA states");
        // Not a timing assertion: a record of the size for the reader.
        TestContext.Current.TestOutputHelper?.WriteLine($"any-JSON object, depth {JsonSchemaCompiler.AnyValueDepth}: {nfa.Count} NFA states in {clock.Elapsed.TotalMilliseconds:F1} ms");
    }
}
