using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// logprobs (completions and chat, streamed and not) and the sampling controls logit_bias, allowed_token_ids,
/// bad_words, truncate_prompt_tokens over real HTTP, in OpenAI's / vLLM's JSON shapes.
/// </summary>
public sealed class LogprobsEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Say something\"}]";

    private async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string path, string json)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsObject());
    }

    private async Task<List<JsonObject>> StreamAsync(string path, string json)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string raw = await response.Content.ReadAsStringAsync(Ct);
        string[] events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        return events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!.AsObject()).ToList();
    }

    private string Piece(int id) => server.Engine.Tokenizer.Decode([id], skipSpecialTokens: false);

    [Fact]
    public async Task Completions_Logprobs_OpenAIShapeWithTopKPlusSampled()
    {
        var (status, body) = await PostAsync("/v1/completions", """{"prompt":"Hello there","max_tokens":5,"temperature":0,"ignore_eos":true,"logprobs":3}""");
        Assert.Equal(HttpStatusCode.OK, status);
        JsonObject choice = body["choices"]![0]!.AsObject();
        JsonObject lp = choice["logprobs"]!.AsObject();
        var tokens = lp["tokens"]!.AsArray().Select(t => (string)t!).ToList();
        var values = lp["token_logprobs"]!.AsArray().Select(t => (double)t!).ToList();
        var tops = lp["top_logprobs"]!.AsArray().Select(t => t!.AsObject()).ToList();
        var offsets = lp["text_offset"]!.AsArray().Select(t => (int)t!).ToList();
        Assert.Equal(5, tokens.Count);
        Assert.Equal((string?)choice["text"], string.Concat(tokens));
        Assert.Equal(5, values.Count);
        Assert.Equal(5, tops.Count);
        int offset = 0;
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(offset, offsets[i]);
            offset += tokens[i].Length;
            Assert.True(values[i] <= 0);
            // Greedy: the sampled token is the first of the top 3, so the map holds exactly 3 entries, descending.
            Assert.Equal(3, tops[i].Count);
            var entries = tops[i].Select(e => (e.Key, Value: (double)e.Value!)).ToList();
            Assert.Equal(tokens[i], entries[0].Key);
            Assert.Equal(values[i], entries[0].Value, 1e-6);
            for (int j = 1; j < entries.Count; j++) Assert.True(entries[j].Value <= entries[j - 1].Value);
        }
    }

    [Fact]
    public async Task Completions_LogprobsZeroAtTemperature_MapHoldsTheSampledToken()
    {
        var (_, body) = await PostAsync("/v1/completions", """{"prompt":"Hi","max_tokens":4,"temperature":1,"seed":4,"ignore_eos":true,"logprobs":0}""");
        JsonObject lp = body["choices"]![0]!["logprobs"]!.AsObject();
        var tokens = lp["tokens"]!.AsArray().Select(t => (string)t!).ToList();
        var tops = lp["top_logprobs"]!.AsArray().Select(t => t!.AsObject()).ToList();
        for (int i = 0; i < tokens.Count; i++)
        {
            Assert.Single(tops[i]);
            Assert.Equal(tokens[i], tops[i].Single().Key);
        }
    }

    [Fact]
    public async Task Completions_StreamedLogprobs_ConcatenateToTheNonStreamedOnes()
    {
        string request = """{"prompt":"Once upon","max_tokens":6,"temperature":0,"ignore_eos":true,"logprobs":2""";
        var (_, whole) = await PostAsync("/v1/completions", request + "}");
        JsonObject expected = whole["choices"]![0]!["logprobs"]!.AsObject();
        var chunks = await StreamAsync("/v1/completions", request + ""","stream":true}""");
        var streamed = chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["logprobs"]).Where(l => l is not null).ToList();
        Assert.Equal(expected["tokens"]!.ToJsonString(), new JsonArray([.. streamed.SelectMany(l => l!["tokens"]!.AsArray()).Select(t => t!.DeepClone())]).ToJsonString());
        Assert.Equal(expected["text_offset"]!.ToJsonString(), new JsonArray([.. streamed.SelectMany(l => l!["text_offset"]!.AsArray()).Select(t => t!.DeepClone())]).ToJsonString());
        Assert.Equal(expected["token_logprobs"]!.ToJsonString(), new JsonArray([.. streamed.SelectMany(l => l!["token_logprobs"]!.AsArray()).Select(t => t!.DeepClone())]).ToJsonString());
    }

    [Fact]
    public async Task Chat_Logprobs_ContentEntriesWithBytesAndSortedTopLogprobs()
    {
        var (status, body) = await PostAsync("/v1/chat/completions", "{" + Messages + ""","max_tokens":5,"temperature":0,"ignore_eos":true,"logprobs":true,"top_logprobs":2}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var content = body["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal(5, content.Count);
        var bytes = new List<byte>();
        foreach (JsonNode? entry in content)
        {
            string token = (string)entry!["token"]!;
            double logprob = (double)entry["logprob"]!;
            bytes.AddRange(entry["bytes"]!.AsArray().Select(b => (byte)(int)b!));
            var top = entry["top_logprobs"]!.AsArray();
            Assert.Equal(2, top.Count);
            Assert.Equal(token, (string?)top[0]!["token"]);
            Assert.Equal(logprob, (double)top[0]!["logprob"]!, 1e-6);
            Assert.True((double)top[1]!["logprob"]! <= (double)top[0]!["logprob"]!);
            Assert.NotNull(top[1]!["bytes"]);
        }
        // The bytes of all tokens are exactly the UTF-8 of the text (as OpenAI defines them).
        Assert.Equal((string?)body["choices"]![0]!["message"]!["content"], Encoding.UTF8.GetString([.. bytes]));
    }

    [Fact]
    public async Task Chat_StreamedLogprobs_EveryContentChunkCarriesItsTokens()
    {
        var chunks = await StreamAsync("/v1/chat/completions", "{" + Messages + ""","max_tokens":4,"temperature":0,"ignore_eos":true,"logprobs":true,"stream":true}""");
        var entries = chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["logprobs"]).Where(l => l is not null)
            .SelectMany(l => l!["content"]!.AsArray()).ToList();
        Assert.Equal(4, entries.Count);
        Assert.All(entries, e => Assert.Empty(e!["top_logprobs"]!.AsArray()));
    }

    [Fact]
    public async Task Completions_EchoWithLogprobs_PromptTokensFirstWithNullThenCompletion()
    {
        var (status, body) = await PostAsync("/v1/completions", """{"prompt":[9707,1879,11],"max_tokens":2,"temperature":0,"ignore_eos":true,"echo":true,"logprobs":1}""");
        Assert.Equal(HttpStatusCode.OK, status);
        JsonObject lp = body["choices"]![0]!["logprobs"]!.AsObject();
        var tokens = lp["tokens"]!.AsArray().Select(t => (string)t!).ToList();
        Assert.Equal([Piece(9707), Piece(1879), Piece(11)], tokens[..3]);
        Assert.Equal(5, tokens.Count);
        Assert.Null(lp["token_logprobs"]![0]);
        Assert.Null(lp["top_logprobs"]![0]);
        Assert.All(Enumerable.Range(1, 4), i => Assert.True((double)lp["token_logprobs"]![i]! <= 0));
        Assert.Equal(0, (int)lp["text_offset"]![0]!);
        Assert.Equal((string?)body["choices"]![0]!["text"], string.Concat(tokens));
    }

    [Fact]
    public async Task Completions_PromptLogprobs_vLLMShapeFirstNull()
    {
        var (status, body) = await PostAsync("/v1/completions", """{"prompt":[9707,1879,11,1234],"max_tokens":1,"prompt_logprobs":2}""");
        Assert.Equal(HttpStatusCode.OK, status);
        JsonArray prompt = body["choices"]![0]!["prompt_logprobs"]!.AsArray();
        Assert.Equal(4, prompt.Count);
        Assert.Null(prompt[0]);
        int[] ids = [9707, 1879, 11, 1234];
        for (int i = 1; i < 4; i++)
        {
            JsonObject entries = prompt[i]!.AsObject();
            JsonObject own = entries[ids[i].ToString()]!.AsObject();
            Assert.Equal(Piece(ids[i]), (string?)own["decoded_token"]);
            Assert.True((int)own["rank"]! >= 1);
            Assert.InRange(entries.Count, 2, 3); // the top 2 plus the prompt token when it is not among them
        }
    }

    [Fact]
    public async Task Completions_PromptLogprobsWithStream_400()
    {
        var (status, body) = await PostAsync("/v1/completions", """{"prompt":"x","prompt_logprobs":1,"stream":true}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("prompt_logprobs", (string?)body["error"]!["param"]);
    }

    [Fact]
    public async Task Chat_TopLogprobsWithoutLogprobs_400()
    {
        var (status, body) = await PostAsync("/v1/chat/completions", "{" + Messages + ""","top_logprobs":2}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("top_logprobs", (string?)body["error"]!["param"]);
    }

    [Fact]
    public async Task OpenAISdk_ChatLogprobs_ParsedByTheClient()
    {
        var client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") });
        ChatCompletion completion = await client.GetChatClient(ServerFixture.ModelName).CompleteChatAsync(
            [new UserChatMessage("hi")],
            new ChatCompletionOptions { MaxOutputTokenCount = 3, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 2 }, Ct);
        Assert.Equal(3, completion.ContentTokenLogProbabilities.Count);
        Assert.All(completion.ContentTokenLogProbabilities, t => Assert.Equal(2, t.TopLogProbabilities.Count));
    }

    [Theory]
    [InlineData("""{"prompt":"x","logit_bias":{"5":101}}""", "logit_bias")]
    [InlineData("""{"prompt":"x","logit_bias":{"abc":1}}""", "logit_bias")]
    [InlineData("""{"prompt":"x","logit_bias":{"999999999":1}}""", "logit_bias")]
    [InlineData("""{"prompt":"x","allowed_token_ids":[]}""", "allowed_token_ids")]
    [InlineData("""{"prompt":"x","allowed_token_ids":[99999999]}""", "allowed_token_ids")]
    [InlineData("""{"prompt":"x","truncate_prompt_tokens":0}""", "truncate_prompt_tokens")]
    public async Task Completions_BadControlValues_400NamingThem(string json, string param)
    {
        var (status, body) = await PostAsync("/v1/completions", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(param, (string?)body["error"]!["param"]);
    }

    [Fact]
    public async Task Completions_LogitBiasAndAllowedTokenIds_ForceAndRestrictTokens()
    {
        var (_, forced) = await PostAsync("/v1/completions", """{"prompt":"Hello","max_tokens":3,"temperature":0,"ignore_eos":true,"logit_bias":{"9707":100}}""");
        Assert.Equal(string.Concat(Enumerable.Repeat(Piece(9707), 3)), (string?)forced["choices"]![0]!["text"]);

        var (_, restricted) = await PostAsync("/v1/completions", """{"prompt":"Hello","max_tokens":6,"temperature":1,"seed":2,"ignore_eos":true,"allowed_token_ids":[1000,2000],"logprobs":0}""");
        var tokens = restricted["choices"]![0]!["logprobs"]!["tokens"]!.AsArray().Select(t => (string)t!).ToList();
        Assert.Equal(6, tokens.Count);
        Assert.All(tokens, t => Assert.Contains(t, new[] { Piece(1000), Piece(2000) }));
    }

    [Fact]
    public async Task Completions_BadWords_WordNoLongerGenerated()
    {
        string request = """{"prompt":"Hello","max_tokens":6,"temperature":0,"ignore_eos":true,"logprobs":0""";
        var (_, plain) = await PostAsync("/v1/completions", request + "}");
        string word = plain["choices"]![0]!["logprobs"]!["tokens"]!.AsArray().Select(t => ((string)t!).Trim()).First(t => t.Any(char.IsLetter));
        var (status, banned) = await PostAsync("/v1/completions", request + $$""","bad_words":["{{word}}"]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var tokens = banned["choices"]![0]!["logprobs"]!["tokens"]!.AsArray().Select(t => ((string)t!).Trim());
        Assert.DoesNotContain(word, tokens);
    }

    [Fact]
    public async Task Completions_TruncatePromptTokens_KeepsTheLastTokens()
    {
        string ids = string.Join(",", Enumerable.Range(100, 40));
        var (status, body) = await PostAsync("/v1/completions", $$"""{"prompt":[{{ids}}],"max_tokens":2,"truncate_prompt_tokens":7}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(7, (int)body["usage"]!["prompt_tokens"]!);
        await server.AssertEngineIdleAsync();
    }
}
