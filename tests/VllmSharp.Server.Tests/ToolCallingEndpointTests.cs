using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// Tool calling over HTTP on a random-weight model, so only the machinery makes calls appear: "required" and a named
/// function are enforced by the output constraint; "auto" (the fixture serves with the hermes parser) is driven by a
/// regex constraint that makes the model write a hermes call block, which the parser must then find. Streamed deltas
/// must add up to the non-streamed message.
/// </summary>
public sealed class ToolCallingEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Messages = "\"messages\":[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}]";

    // Every valid argument object is short (an enum and a bounded integer), so any sampled call finishes.
    private const string Tools = """
        [{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"enum":["Paris","Oslo"]},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}}},
         {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"enum":["UTC","CET"]}},"required":["zone"],"additionalProperties":false}}}]
        """;

    private static string Body(string extra) => "{" + Messages + ",\"tools\":" + Tools + ",\"max_tokens\":96,\"temperature\":1,\"seed\":11" + extra + "}";

    private static void AssertValidArguments(string name, string arguments)
    {
        JsonElement args = JsonDocument.Parse(arguments).RootElement;
        if (name == "get_weather")
        {
            Assert.Equal(["city", "days"], args.EnumerateObject().Select(p => p.Name));
            Assert.Contains(args.GetProperty("city").GetString(), new[] { "Paris", "Oslo" });
            Assert.InRange(args.GetProperty("days").GetInt32(), 1, 7);
        }
        else
        {
            Assert.Equal("get_time", name);
            Assert.Contains(args.GetProperty("zone").GetString(), new[] { "UTC", "CET" });
        }
    }

    [Fact]
    public async Task Named_NonStreamed_OneValidCallOfThatFunction()
    {
        JsonNode body = await server.Http.PostOkAsync("/v1/chat/completions", Body(
            ""","tool_choice":{"type":"function","function":{"name":"get_weather"}}"""));
        JsonNode choice = body["choices"]![0]!;
        JsonNode call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.StartsWith("chatcmpl-tool-", (string?)call["id"]);
        Assert.Equal("function", (string?)call["type"]);
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        AssertValidArguments("get_weather", (string)call["function"]!["arguments"]!);
        Assert.Null(choice["message"]!["content"]);
        Assert.Equal("stop", (string?)choice["finish_reason"]); // vLLM keeps the engine's reason for a named function
        await server.AssertEngineIdleAsync();
    }

    [Theory]
    [InlineData("""{"type":"function","function":{"name":"get_time"}}""", "stop")]
    [InlineData("\"required\"", "tool_calls")]
    public async Task Streamed_DeltasAddUpToTheNonStreamedCalls(string toolChoice, string finish)
    {
        string request = Body(",\"tool_choice\":" + toolChoice);
        JsonNode whole = await server.Http.PostOkAsync("/v1/chat/completions", request);
        var expected = whole["choices"]![0]!["message"]!["tool_calls"]!.AsArray()
            .Select(c => ((string)c!["function"]!["name"]!, (string)c["function"]!["arguments"]!)).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(finish, (string?)whole["choices"]![0]!["finish_reason"]);

        (List<(string Name, string Arguments)> calls, string content, string? streamFinish) = await StreamAsync(request[..^1] + ",\"stream\":true}");
        Assert.Equal(expected, calls); // same seed, same tokens, same calls
        Assert.Equal("", content);
        Assert.Equal(finish, streamFinish);
        foreach (var (name, arguments) in calls) AssertValidArguments(name, arguments);
        await server.AssertEngineIdleAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Required_ParallelToolCalls_BoundsTheNumberOfCalls(bool parallel)
    {
        for (int seed = 1; seed <= 3; seed++)
        {
            JsonNode body = await server.Http.PostOkAsync("/v1/chat/completions",
                Body($",\"tool_choice\":\"required\",\"parallel_tool_calls\":{(parallel ? "true" : "false")},\"seed\":{seed}"));
            JsonNode choice = body["choices"]![0]!;
            JsonArray calls = choice["message"]!["tool_calls"]!.AsArray();
            if (!parallel) Assert.Single(calls);
            Assert.NotEmpty(calls);
            foreach (JsonNode? call in calls) AssertValidArguments((string)call!["function"]!["name"]!, (string)call["function"]!["arguments"]!);
            Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        }
    }

    [Fact]
    public async Task Auto_HermesBlockInTheOutput_BecomesACall_StreamedAndNot()
    {
        // The model is made to write exactly this text; the hermes parser, not the constraint, must find the call in it.
        const string reply = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}\n</tool_call>";
        string regex = reply.Replace(".", "\\.").Replace("{", "\\{").Replace("}", "\\}");
        string request = Body(",\"structured_outputs\":" + JsonSerializer.Serialize(new { regex }));
        JsonNode body = await server.Http.PostOkAsync("/v1/chat/completions", request);
        JsonNode choice = body["choices"]![0]!;
        Assert.Equal("Checking.\n", (string?)choice["message"]!["content"]);
        JsonNode call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        Assert.Equal("{\"city\": \"Oslo\", \"days\": 2}", (string?)call["function"]!["arguments"]);
        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);

        (var calls, string content, string? finish) = await StreamAsync(request[..^1] + ",\"stream\":true}");
        Assert.Equal([("get_weather", "{\"city\": \"Oslo\", \"days\": 2}")], calls);
        Assert.Equal("Checking.\n", content);
        Assert.Equal("tool_calls", finish);
    }

    [Fact]
    public async Task Auto_PlainText_StaysContent()
    {
        JsonNode body = await server.Http.PostOkAsync("/v1/chat/completions", Body(",\"structured_outputs\":{\"choice\":[\"It is sunny.\"]}"));
        JsonNode message = body["choices"]![0]!["message"]!;
        Assert.Equal("It is sunny.", (string?)message["content"]);
        Assert.Null(message["tool_calls"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
    }

    [Theory]
    [InlineData("\"tool_choice\":\"required\"", "tool_choice")] // no tools
    [InlineData("\"tools\":" + Tools + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}", "tool_choice")]
    [InlineData("\"tools\":" + Tools + ",\"tool_choice\":\"sometimes\"", "tool_choice")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"parameters\":{}}}]", "tools")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"contentEncoding\":\"base64\"}}}}}],\"tool_choice\":\"required\"", "structured_outputs")]
    public async Task BadToolRequests_400InOpenAIsShape(string fields, string param)
    {
        using var response = await server.Http.PostAsync("/v1/chat/completions",
            new StringContent("{" + Messages + ",\"max_tokens\":4," + fields + "}", Encoding.UTF8, "application/json"), Ct);
        string text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        JsonNode error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("BadRequestError", (string?)error["type"]);
        Assert.Equal(param, (string?)error["param"]);
        await server.AssertEngineIdleAsync();
    }

    [Fact]
    public async Task ToolResultsFedBack_ArgumentsReachTheTemplateAsAnObject()
    {
        // OpenAI sends arguments as a JSON string; the Qwen template must print them as JSON, not as a quoted string.
        const string messages = """
            "messages":[{"role":"user","content":"Weather in Oslo?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\",\"days\":2}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"Rain, 4 C"}]
            """;
        JsonNode tokenized = await server.Http.PostOkAsync("/tokenize", "{" + messages + ",\"tools\":" + Tools + "}");
        JsonNode detokenized = await server.Http.PostOkAsync("/detokenize", "{\"tokens\":" + tokenized["tokens"]!.ToJsonString() + "}");
        string prompt = (string)detokenized["prompt"]!;
        Assert.Contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}\n</tool_call><|im_end|>", prompt);
        Assert.Contains("<|im_start|>user\n<tool_response>\nRain, 4 C\n</tool_response><|im_end|>\n<|im_start|>assistant\n", prompt);

        JsonNode chat = await server.Http.PostOkAsync("/v1/chat/completions", "{" + messages + ",\"tools\":" + Tools + ",\"max_tokens\":4,\"ignore_eos\":true}");
        Assert.Equal((int)tokenized["count"]!, (int)chat["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task N2_Streamed_EachChoiceHasItsOwnCallIdsAndOneFinishReason()
    {
        string request = Body(",\"n\":2,\"stream\":true,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}");
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(request, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var arguments = new Dictionary<int, StringBuilder>();
        var ids = new Dictionary<int, List<string>>();
        var finishes = new Dictionary<int, List<string>>();
        foreach (string line in (await response.Content.ReadAsStringAsync(Ct)).Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            foreach (JsonNode? choice in JsonNode.Parse(line[6..])!["choices"]!.AsArray())
            {
                int index = (int)choice!["index"]!;
                if ((string?)choice["finish_reason"] is { } finish) (finishes.TryGetValue(index, out var f) ? f : finishes[index] = []).Add(finish);
                foreach (JsonNode? d in choice["delta"]!["tool_calls"]?.AsArray() ?? [])
                {
                    Assert.Equal(0, (int)d!["index"]!); // one call per choice
                    if ((string?)d["id"] is { } id) (ids.TryGetValue(index, out var l) ? l : ids[index] = []).Add(id);
                    (arguments.TryGetValue(index, out var a) ? a : arguments[index] = new StringBuilder()).Append((string?)d["function"]!["arguments"]);
                }
            }
        }
        Assert.Equal([0, 1], arguments.Keys.Order());
        foreach (int index in new[] { 0, 1 })
        {
            Assert.Single(ids[index]);
            Assert.Single(finishes[index]);
            AssertValidArguments("get_weather", arguments[index].ToString());
        }
        Assert.NotEqual(ids[0][0], ids[1][0]);
        await server.AssertEngineIdleAsync();
    }

    /// <summary>Reassembles a streamed reply as a client does: tool calls by index (id and name once, arguments appended).</summary>
    private async Task<(List<(string Name, string Arguments)> Calls, string Content, string? Finish)> StreamAsync(string request)
    {
        using var response = await server.Http.PostAsync("/v1/chat/completions", new StringContent(request, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var calls = new List<(string Name, string Arguments)>();
        var ids = new List<string>();
        var content = new StringBuilder();
        string? finish = null;
        foreach (string line in (await response.Content.ReadAsStringAsync(Ct)).Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            JsonNode choice = JsonNode.Parse(line[6..])!["choices"]![0]!;
            JsonNode delta = choice["delta"]!;
            content.Append((string?)delta["content"]);
            finish ??= (string?)choice["finish_reason"];
            foreach (JsonNode? d in delta["tool_calls"]?.AsArray() ?? [])
            {
                int index = (int)d!["index"]!;
                if (index == calls.Count)
                {
                    ids.Add((string)d["id"]!);
                    Assert.Equal("function", (string?)d["type"]);
                    calls.Add(((string)d["function"]!["name"]!, (string?)d["function"]!["arguments"] ?? ""));
                }
                else
                {
                    Assert.Equal(calls.Count - 1, index);
                    Assert.Null(d["id"]);
                    Assert.Null(d["function"]!["name"]);
                    calls[^1] = (calls[^1].Name, calls[^1].Arguments + (string?)d["function"]!["arguments"]);
                }
            }
        }
        Assert.Equal(ids.Count, ids.Distinct().Count());
        return (calls, content.ToString(), finish);
    }
}
