using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// Constrained output over HTTP as vLLM accepts it: response_format (json_schema, json_object), the structured_outputs
/// object and the legacy guided_* fields, streamed and not, on a random-weight model (so only the constraint makes
/// the output valid); conflicting or unsupported constraints are 400s naming the field.
/// </summary>
public sealed class StructuredOutputsEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Give me a color and a digit.\"}]";

    // Every valid output is short (an enum and a one-digit integer), so greedy decoding always finishes.
    private const string Schema = """{"type":"object","properties":{"color":{"enum":["red","green"]},"n":{"type":"integer","minimum":0,"maximum":9}},"required":["color","n"],"additionalProperties":false}""";

    private static void AssertMatchesSchema(string text)
    {
        using JsonDocument doc = JsonDocument.Parse(text);
        JsonElement root = doc.RootElement;
        Assert.Equal(["color", "n"], root.EnumerateObject().Select(p => p.Name));
        Assert.Contains(root.GetProperty("color").GetString(), new[] { "red", "green" });
        Assert.InRange(root.GetProperty("n").GetInt32(), 0, 9);
    }

    [Fact]
    public async Task Chat_ResponseFormatJsonSchema_ContentValidatesAndStops()
    {
        JsonNode body = await PostOkAsync("/v1/chat/completions", "{" + Messages + ",\"max_tokens\":64,\"temperature\":0,"
            + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"pick\",\"strict\":true,\"schema\":" + Schema + "}}}");
        AssertMatchesSchema((string)body["choices"]![0]!["message"]!["content"]!);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task Chat_StreamedJsonSchema_DeltasConcatenateToValidJson()
    {
        string json = "{" + Messages + ",\"max_tokens\":64,\"temperature\":1,\"seed\":7,\"stream\":true,\"guided_json\":" + Schema + "}";
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = new StringBuilder();
        foreach (string line in (await response.Content.ReadAsStringAsync(Ct)).Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            JsonNode? delta = JsonNode.Parse(line[6..])!["choices"]?.AsArray().FirstOrDefault()?["delta"];
            text.Append((string?)delta?["content"]);
        }
        AssertMatchesSchema(text.ToString());
    }

    [Theory]
    [InlineData("\"guided_choice\":[\"yes\",\"no\"]")]
    [InlineData("\"structured_outputs\":{\"choice\":[\"yes\",\"no\"]}")]
    public async Task Completions_Choice_TextIsOneOfTheChoices(string constraint)
    {
        for (int seed = 0; seed < 3; seed++)
        {
            JsonNode body = await PostOkAsync("/v1/completions", $$"""{"prompt":"Answer:","max_tokens":8,"temperature":1,"seed":{{seed}},{{constraint}}}""");
            Assert.Contains((string)body["choices"]![0]!["text"]!, new[] { "yes", "no" });
        }
    }

    [Fact]
    public async Task Completions_StructuredOutputsRegex_TextMatches()
    {
        JsonNode body = await PostOkAsync("/v1/completions", """{"prompt":"Code:","max_tokens":16,"temperature":1,"seed":3,"structured_outputs":{"regex":"[A-F][0-9]{3}"}}""");
        Assert.Matches(new Regex("^[A-F][0-9]{3}$"), (string)body["choices"]![0]!["text"]!);
    }

    [Theory]
    [InlineData("\"guided_regex\":\"a+\",\"guided_choice\":[\"a\"]", "guided_choice")]
    [InlineData("\"response_format\":{\"type\":\"xml\"}", "response_format.type")]
    [InlineData("\"response_format\":{\"type\":\"json_schema\"}", "response_format.json_schema")]
    [InlineData("\"structured_outputs\":{\"regex\":\"a\",\"grammar\":\"root ::= \\\"a\\\"\"}", "structured_outputs")]
    [InlineData("\"structured_outputs\":{\"xml\":\"<a/>\"}", "structured_outputs.xml")]
    [InlineData("\"guided_json\":{\"allOf\":[{\"type\":\"string\"}]}", "structured_outputs")]
    [InlineData("\"guided_regex\":\"(unclosed\"", "structured_outputs")]
    public async Task Completions_BadConstraint_400NamingTheField(string constraint, string param)
    {
        string json = $$"""{"prompt":"x","max_tokens":4,{{constraint}}}""";
        using var response = await server.Http.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        string text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"HTTP {(int)response.StatusCode}: {text}");
        Assert.Equal(param, (string?)JsonNode.Parse(text)!["error"]!["param"]);
        await server.AssertEngineIdleAsync();
    }

    private Task<JsonNode> PostOkAsync(string path, string json) => server.Http.PostOkAsync(path, json);
}
