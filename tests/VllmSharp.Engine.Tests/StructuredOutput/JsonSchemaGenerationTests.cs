using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.StructuredOutput;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// 200 generated schemas, each walked with uniformly random allowed tokens over the real Qwen vocabulary (2 seeds):
/// every completed output must be valid UTF-8, parse as JSON, and validate with JsonSchema.Net (formats checked).
/// </summary>
public sealed class JsonSchemaGenerationTests
{
    private static readonly EvaluationOptions s_validate = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };

    [Fact]
    public void RandomWalk_200GeneratedSchemas_EveryCompletedOutputValidates()
    {
        var generator = new SchemaGenerator(seed: 2024);
        int completed = 0, walks = 0;
        for (int i = 0; i < 200; i++)
        {
            string schemaText = generator.Next().ToJsonString();
            JsonSchema schema = JsonSchema.FromText(schemaText, baseUri: new Uri($"https://vllmsharp.test/generated/{i}.json"));
            for (int seed = 0; seed < 2; seed++)
            {
                walks++;
                var result = ConstrainedWalk.Run(StructuredOutputsParams.ForJson(schemaText), seed * 1000 + i, maxTokens: 400);
                if (!result.Completed) continue;
                completed++;
                AssertValid(schema, schemaText, result.Text);
            }
        }
        // Everything is bounded except recursion through the generators' bounded trees; nearly all walks finish.
        Assert.True(completed >= walks * 9 / 10, $"only {completed} of {walks} walks completed");
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"name":{"type":"string","maxLength":5},"age":{"type":"integer","minimum":0,"maximum":120}},"required":["name","age"]}""")]
    [InlineData("""{"type":"array","items":{"type":"number","minimum":-1.5,"exclusiveMaximum":2},"minItems":1,"maxItems":4}""")]
    [InlineData("""{"type":"string","pattern":"^[0-9]{2}(x|y\\\\)$"}""")]
    [InlineData("""{"type":"object","additionalProperties":{"type":"integer","minimum":-5,"maximum":5}}""")]
    [InlineData("""{"$defs":{"e":{"anyOf":[{"type":"integer","minimum":0,"maximum":9},{"type":"array","items":{"$ref":"#/$defs/e"},"maxItems":2}]}},"$ref":"#/$defs/e"}""")]
    [InlineData("""{"enum":["a\"b","c\\d",{"x":[1,2]},null,1.5]}""")]
    [InlineData("""{"type":["string","null"],"format":"date-time"}""")]
    [InlineData("""{"type":"integer","exclusiveMinimum":-1000,"exclusiveMaximum":-998}""")]
    public void RandomWalk_HandWrittenSchema_OutputsValidate(string schemaText)
    {
        JsonSchema schema = JsonSchema.FromText(schemaText, baseUri: new Uri($"https://vllmsharp.test/hand/{schemaText.GetHashCode()}.json"));
        int completed = 0;
        for (int seed = 0; seed < 12; seed++)
        {
            var result = ConstrainedWalk.Run(StructuredOutputsParams.ForJson(schemaText), seed, maxTokens: 300);
            if (!result.Completed) continue;
            completed++;
            AssertValid(schema, schemaText, result.Text);
        }
        Assert.True(completed > 0, "no walk completed");
    }

    [Theory]
    [InlineData("\"12\"", true)]
    [InlineData("\"ab12cd\"", true)]
    [InlineData("\"1\\\"2\"", false)]
    [InlineData("\"1a2\"", false)]
    [InlineData("\"\\\"34\"", true)]
    public void Compile_UnanchoredPattern_MatchesAnywhereInTheString(string json, bool expected)
    {
        var dfa = new LazyDfa(new ByteNfa(JsonSchemaCompiler.Compile("""{"type":"string","pattern":"[0-9]{2}"}""")));
        Assert.Equal(expected, RegexDfaTests.Accepts(dfa, json));
    }

    [Fact]
    public void RandomWalk_JsonObjectMode_OutputsAreJsonObjects()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var result = ConstrainedWalk.Run(StructuredOutputsParams.ForJsonObject(), seed, maxTokens: 400);
            if (!result.Completed) continue;
            using var doc = JsonDocument.Parse(result.Text);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        }
    }

    [Theory]
    [InlineData("""{"type":"object","allOf":[]}""", "allOf")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "uniqueItems")]
    [InlineData("""{"type":"object","patternProperties":{}}""", "patternProperties")]
    [InlineData("""{"type":"string","pattern":"(a)\\1"}""", "backreferences")]
    [InlineData("""{"type":"strange"}""", "strange")]
    [InlineData("""{"$ref":"https://example.com/s.json"}""", "local $ref")]
    [InlineData("""{"type": """, "not valid JSON")]
    public void Compile_UnsupportedSchema_ErrorNamesTheProblem(string schemaText, string named)
    {
        var e = Assert.Throws<StructuredOutputException>(() => StructuredOutputManager.For(ConstrainedWalk.Tokenizer).Compile(StructuredOutputsParams.ForJson(schemaText)));
        Assert.Contains(named, e.Message);
        Assert.Equal("structured_outputs", e.Parameter);
    }

    [Fact]
    public void RandomWalk_RequiredAndOptionalProperties_OrderKeptAndOptionalsSometimesOmitted()
    {
        const string schema = """{"type":"object","properties":{"a":{"const":1},"b":{"const":2},"c":{"const":3}},"required":["b"]}""";
        var shapes = new HashSet<string>();
        for (int seed = 0; seed < 60; seed++)
        {
            var result = ConstrainedWalk.Run(StructuredOutputsParams.ForJson(schema), seed);
            Assert.True(result.Completed);
            shapes.Add(result.Text);
        }
        // All four shapes {b}, {a,b}, {b,c}, {a,b,c} in schema order, nothing else.
        Assert.Equal(["{\"a\": 1, \"b\": 2, \"c\": 3}", "{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"c\": 3}", "{\"b\": 2}"], shapes.Order(StringComparer.Ordinal));
    }

    private static void AssertValid(JsonSchema schema, string schemaText, string output)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(output);
        }
        catch (JsonException e)
        {
            Assert.Fail($"Output does not parse ({e.Message}).\nschema: {schemaText}\noutput: {output}");
            return;
        }
        using (doc)
        {
            EvaluationResults results = schema.Evaluate(doc.RootElement, s_validate);
            Assert.True(results.IsValid, $"Output does not validate.\nschema: {schemaText}\noutput: {output}\n{JsonSerializer.Serialize(results)}");
        }
    }
}
