using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// The smaller OpenAI/vLLM response details each client relies on: echo, token-id prompts, stop strings with
/// stop_reason, seeds, n for chat, max_completion_tokens over max_tokens, continuous usage stats, /ready and the
/// model card fields.
/// </summary>
public sealed class ProtocolDetailsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Echo_TextAndTokenIdPrompts_TextStartsWithThePrompt()
    {
        JsonNode text = await PostOkAsync("/v1/completions", """{"prompt":"Hello world","max_tokens":3,"ignore_eos":true,"echo":true,"temperature":0}""");
        JsonNode plain = await PostOkAsync("/v1/completions", """{"prompt":"Hello world","max_tokens":3,"ignore_eos":true,"temperature":0}""");
        Assert.Equal("Hello world" + Text(plain), Text(text));

        JsonNode ids = (await PostOkAsync("/tokenize", """{"prompt":"Hello world"}"""))["tokens"]!;
        JsonNode byIds = await PostOkAsync("/v1/completions", $$"""{"prompt":{{ids.ToJsonString()}},"max_tokens":3,"ignore_eos":true,"echo":true,"temperature":0}""");
        Assert.Equal(Text(text), Text(byIds));
        Assert.Equal(ids.AsArray().Count, (int)byIds["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Stop_String_CutsBeforeIt_FinishReasonStop_StopReasonIsTheString()
    {
        string full = Text(await PostOkAsync("/v1/completions", """{"prompt":"The quick brown fox","max_tokens":24,"ignore_eos":true,"temperature":0}"""));
        Assert.True(full.Length >= 8, full);
        // One whole character from the middle (never half of a surrogate pair, which JSON could not carry).
        int at = full.Length / 2;
        if (char.IsLowSurrogate(full[at])) at--;
        string stop = full.Substring(at, char.IsHighSurrogate(full[at]) ? 2 : 1);
        string expected = full[..full.IndexOf(stop, StringComparison.Ordinal)];

        var body = new JsonObject { ["prompt"] = "The quick brown fox", ["max_tokens"] = 24, ["ignore_eos"] = true, ["temperature"] = 0, ["stop"] = new JsonArray(stop) };
        JsonNode choice = (await PostOkAsync("/v1/completions", body.ToJsonString()))["choices"]![0]!;
        Assert.Equal(expected, (string?)choice["text"]);
        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Equal(stop, (string?)choice["stop_reason"]);
    }

    [Fact]
    public async Task Seed_SameSeedAtTemperatureOne_SameText()
    {
        const string json = """{"prompt":"Random words:","max_tokens":12,"ignore_eos":true,"temperature":1.0,"seed":1234}""";
        Assert.Equal(Text(await PostOkAsync("/v1/completions", json)), Text(await PostOkAsync("/v1/completions", json)));
    }

    [Fact]
    public async Task Chat_N2_MaxCompletionTokensWins_IdsAndFingerprint()
    {
        JsonNode chat = await PostOkAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"hi"}],"n":2,"max_tokens":2,"max_completion_tokens":3,"ignore_eos":true,"seed":7}""");
        Assert.Equal([0, 1], chat["choices"]!.AsArray().Select(c => (int)c!["index"]!));
        Assert.Equal(6, (int)chat["usage"]!["completion_tokens"]!); // 2 choices × max_completion_tokens 3
        Assert.StartsWith("chatcmpl-", (string?)chat["id"]);
        Assert.Equal("chat.completion", (string?)chat["object"]);
        Assert.False(string.IsNullOrEmpty((string?)chat["system_fingerprint"]));
        Assert.All(chat["choices"]!.AsArray(), c => Assert.Equal("assistant", (string?)c!["message"]!["role"]));
    }

    [Fact]
    public async Task Stream_ContinuousUsageStats_EveryChunkCarriesRunningUsage_ThenAUsageOnlyChunk()
    {
        using var response = await server.Http.PostAsync("/v1/completions", new StringContent(
            """{"prompt":"count","max_tokens":4,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}""",
            Encoding.UTF8, "application/json"), Ct);
        string[] events = (await response.Content.ReadAsStringAsync(Ct)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        JsonNode[] chunks = [.. events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!)];
        int previous = -1;
        foreach (JsonNode chunk in chunks)
        {
            int completion = (int)chunk["usage"]!["completion_tokens"]!;
            Assert.True(completion >= previous);
            previous = completion;
        }
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(4, previous);
    }

    [Fact]
    public async Task ReadyAndModelCard_VllmFields()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/ready", Ct)).StatusCode);
        JsonNode card = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models", Ct))!["data"]![1]!;
        Assert.Equal("alias", (string?)card["id"]);
        Assert.Equal("model", (string?)card["object"]);
        Assert.Equal("vllmsharp", (string?)card["owned_by"]);
        Assert.Equal(server.Engine.ModelPath, (string?)card["root"]);
        Assert.Equal(512, (int)card["max_model_len"]!);
    }

    private static string Text(JsonNode response) => (string)response["choices"]![0]!["text"]!;

    private Task<JsonNode> PostOkAsync(string path, string json) => server.Http.PostOkAsync(path, json);
}
