using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>Malformed, oversized and ill-typed request bodies: every one must get a 4xx with the OpenAI
/// error shape, promptly (never a 5xx, never a hang), and the server must keep serving afterwards.</summary>
public sealed class HostileInputTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Completions = "/v1/completions";
    private const string Chat = "/v1/chat/completions";

    private static readonly Dictionary<string, (string Path, Func<HttpContent> Body)> s_cases = new()
    {
        // Numbers beyond every numeric type the server could bind them to.
        ["max_tokens 1e308"] = (Completions, () => Json("""{"prompt":"x","max_tokens":1e308}""")),
        ["max_tokens 99999999999999999999"] = (Chat, () => Json("""{"messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999}""")),
        ["n 1e308"] = (Completions, () => Json("""{"prompt":"x","n":1e308}""")),
        ["seed 1e400"] = (Completions, () => Json("""{"prompt":"x","seed":1e400}""")),
        ["top_k 99999999999999999999"] = (Completions, () => Json("""{"prompt":"x","top_k":99999999999999999999}""")),
        ["max_tokens -1"] = (Completions, () => Json("""{"prompt":"x","max_tokens":-1}""")),
        ["negative n"] = (Chat, () => Json("""{"messages":[{"role":"user","content":"x"}],"n":-3}""")),
        ["prompt token id out of vocab"] = (Completions, () => Json("""{"prompt":[1,2147483647]}""")),
        ["prompt token id beyond int"] = (Completions, () => Json("""{"prompt":[1,99999999999999999999]}""")),
        ["max_tokens 0"] = (Completions, () => Json("""{"prompt":"x","max_tokens":0}""")),
        ["presence_penalty 1e308"] = (Completions, () => Json("""{"prompt":"x","presence_penalty":1e308}""")),
        ["top_p 0"] = (Completions, () => Json("""{"prompt":"x","top_p":0}""")),
        ["repetition_penalty 0"] = (Completions, () => Json("""{"prompt":"x","repetition_penalty":0}""")),
        ["detokenize ids out of vocab"] = ("/detokenize", () => Json("""{"tokens":[-1,99999999]}""")),
        ["invalid UTF-8 in prompt"] = (Completions, () => new ByteArrayContent([.. "{\"prompt\":\"ab"u8, 0xFF, 0xFE, 0xC3, .. "\",\"max_tokens\":2}"u8]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }),
        ["overlong UTF-8 in chat"] = (Chat, () => new ByteArrayContent([.. "{\"messages\":[{\"role\":\"user\",\"content\":\"a"u8, 0xC0, 0x80, .. "\"}]}"u8]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }),
        ["unpaired surrogate escape"] = (Completions, () => Json("""{"prompt":"a\ud800b"}""")),
        ["unpaired low surrogate in chat"] = (Chat, () => Json("""{"messages":[{"role":"user","content":"a\udc00"}]}""")),
        ["top_logprobs too large"] = (Chat, () => Json("""{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":1000000}""")),
        ["logprobs too large"] = (Completions, () => Json("""{"prompt":"x","logprobs":1000000}""")),
        // Wrong JSON types.
        ["max_tokens string"] = (Chat, () => Json("""{"messages":[{"role":"user","content":"x"}],"max_tokens":"x"}""")),
        ["messages number"] = (Chat, () => Json("""{"messages":5}""")),
        ["messages null element"] = (Chat, () => Json("""{"messages":[null]}""")),
        ["content number"] = (Chat, () => Json("""{"messages":[{"role":"user","content":5}]}""")),
        ["stop number"] = (Completions, () => Json("""{"prompt":"x","stop":7}""")),
        ["stop number in chat"] = (Chat, () => Json("""{"messages":[{"role":"user","content":"x"}],"stop":7}""")),
        ["prompt boolean"] = (Completions, () => Json("""{"prompt":true}""")),
        ["prompt nested arrays of strings"] = (Completions, () => Json("""{"prompt":[["a"]]}""")),
        ["temperature string"] = (Completions, () => Json("""{"prompt":"x","temperature":"hot"}""")),
        ["stream string"] = (Completions, () => Json("""{"prompt":"x","stream":"yes"}""")),
        ["n fractional"] = (Completions, () => Json("""{"prompt":"x","n":1.5}""")),
        ["top-level array"] = (Completions, () => Json("""[{"prompt":"x"}]""")),
        ["top-level string"] = (Chat, () => Json("\"hello\"")),
        ["image content part"] = (Chat, () => Json("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x"}}]}]}""")),
        ["bogus content part"] = (Chat, () => Json("""{"messages":[{"role":"user","content":[{"type":"bogus"}]}]}""")),
        ["tokenize prompt number"] = ("/tokenize", () => Json("""{"prompt":5}""")),
        // null in every position.
        ["null body"] = (Completions, () => Json("null")),
        ["null fields completions"] = (Completions, () => Json("""{"model":null,"prompt":null,"max_tokens":null,"temperature":null,"stop":null,"n":null,"stream":null}""")),
        ["null fields chat"] = (Chat, () => Json("""{"model":null,"messages":null,"max_tokens":null,"temperature":null,"stream":null}""")),
        // Broken framing.
        ["empty body"] = (Completions, () => new ByteArrayContent([]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }),
        ["empty body chat"] = (Chat, () => new ByteArrayContent([]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }),
        ["truncated json"] = (Chat, () => Json("{\"messages\":[{\"role\":\"user\",\"content\":\"x")),
        ["trailing garbage"] = (Completions, () => Json("""{"prompt":"x"} {"prompt":"y"}""")),
        ["form body"] = (Completions, () => new StringContent("prompt=x&max_tokens=3", Encoding.UTF8, "application/x-www-form-urlencoded")),
        ["deeply nested arrays"] = (Completions, () => Json("""{"prompt":"x","extra":""" + new string('[', 10_000) + new string(']', 10_000) + "}")),
        ["deeply nested objects"] = (Chat, () => Json(string.Concat(Enumerable.Repeat("""{"a":""", 10_000)) + "1" + new string('}', 10_000))),
        // Sizes far beyond the 512-token context of the test model.
        ["10 MB prompt"] = (Completions, () => Json("{\"prompt\":\"" + string.Concat(Enumerable.Repeat("hello world ", 10 * 1024 * 1024 / 12)) + "\",\"max_tokens\":2}")),
        ["10 MB chat content"] = (Chat, () => Json("{\"messages\":[{\"role\":\"user\",\"content\":\"" + string.Concat(Enumerable.Repeat("hello world ", 10 * 1024 * 1024 / 12)) + "\"}],\"max_tokens\":2}")),
        ["prompt of 1M token ids"] = (Completions, () => Json("""{"prompt":[""" + string.Join(',', Enumerable.Repeat("11", 1_000_000)) + "]}")),
    };

    public static TheoryData<string> Cases() => new(s_cases.Keys);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static ByteArrayContent Bytes(byte[] bytes) => new(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HostileBody_Answers4xxWithOpenAIErrorShape_AndServerStillServes(string name)
    {
        var (path, body) = s_cases[name];
        // A generous bound that still turns a hang (e.g. quadratic tokenization of 10 MB) into a failure.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        using var response = await server.Http.PostAsync(path, body(), timeout.Token);
        string text = await response.Content.ReadAsStringAsync(timeout.Token);
        int status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{name}: HTTP {status} {text[..Math.Min(text.Length, 400)]}");
        AssertOpenAIError(text, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task BodyOverTheSizeLimit_Answers4xxBeforeReadingIt_AndServerStillServes()
    {
        // 100-continue lets the server refuse on Content-Length alone; without it the server's early answer
        // races the client's upload and the client sees a broken pipe instead of the status.
        using var request = new HttpRequestMessage(HttpMethod.Post, Completions)
        {
            Content = Json("{\"prompt\":\"" + string.Concat(Enumerable.Repeat("hello world ", 33 * 1024 * 1024 / 12)) + "\"}"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await server.Http.SendAsync(request, TestContext.Current.CancellationToken);
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        int status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"HTTP {status} {text[..Math.Min(text.Length, 400)]}");
        AssertOpenAIError(text, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task WrongMethod_On_PostEndpoint_Answers4xx_AndServerStillServes()
    {
        using var response = await server.Http.GetAsync(Completions, TestContext.Current.CancellationToken);
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"HTTP {(int)response.StatusCode}");
        await AssertStillServesAsync();
    }

    private static void AssertOpenAIError(string text, int status)
    {
        using JsonDocument doc = JsonDocument.Parse(text);
        JsonElement error = doc.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        // "param" must be present (a string or null), as the OpenAI clients read it.
        Assert.True(error.GetProperty("param").ValueKind is JsonValueKind.String or JsonValueKind.Null);
        Assert.Equal(status, error.GetProperty("code").GetInt32());
    }

    private async Task AssertStillServesAsync()
    {
        using var ok = await server.Http.PostAsync(Completions, Json("""{"prompt":"still alive","max_tokens":2,"ignore_eos":true}"""), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        JsonNode body = JsonNode.Parse(await ok.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        Assert.Equal(2, (int)body["usage"]!["completion_tokens"]!);
        await server.AssertEngineIdleAsync();
    }
}
