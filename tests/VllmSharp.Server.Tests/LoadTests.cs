using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>Many simultaneous clients against the real server: every stream completes correctly, and
/// clients that vanish mid-stream leave no running request and no KV block behind.</summary>
public sealed class LoadTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Input(bool chat, string text)
        => chat ? $"\"messages\":[{{\"role\":\"user\",\"content\":\"{text}\"}}]" : $"\"prompt\":\"{text}\"";

    /// <summary>Streams one request to the end and returns the usage of its final usage chunk.</summary>
    private async Task<(int Completion, int Prompt, int Total, string Object)> StreamToEndAsync(int i)
    {
        bool chat = i % 2 == 0;
        string path = chat ? "/v1/chat/completions" : "/v1/completions";
        // max_tokens varies (2..5) so a usage mixed up between requests would show.
        int maxTokens = 2 + i % 4;
        using var response = await server.Http.PostAsync(path, Json("{" + Input(chat, $"client {i} says hello")
            + $",\"max_tokens\":{maxTokens},\"ignore_eos\":true,\"seed\":{i},\"stream\":true,\"stream_options\":{{\"include_usage\":true}}}}"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string raw = await response.Content.ReadAsStringAsync(Ct);
        Assert.EndsWith("data: [DONE]\n\n", raw);
        string[] events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        JsonNode last = JsonNode.Parse(events[^2]["data: ".Length..])!;
        JsonNode usage = last["usage"]!;
        Assert.Equal(maxTokens, (int)usage["completion_tokens"]!);
        return ((int)usage["completion_tokens"]!, (int)usage["prompt_tokens"]!, (int)usage["total_tokens"]!, (string)last["object"]!);
    }

    [Fact]
    public async Task SixtyFourConcurrentStreams_ChatAndCompletionsMixed_AllCompleteWithExactUsage()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(StreamToEndAsync));
        for (int i = 0; i < results.Length; i++)
        {
            var (completion, prompt, total, obj) = results[i];
            Assert.Equal(2 + i % 4, completion); // ignore_eos: exactly max_tokens, never fewer
            Assert.True(prompt > 0);
            Assert.Equal(prompt + completion, total);
            Assert.Equal(i % 2 == 0 ? "chat.completion.chunk" : "text_completion", obj);
        }
        await server.AssertEngineIdleAsync();
    }

    [Fact]
    public async Task DisconnectStorm_HundredClientsDropAfterFirstEvent_EngineIdleAndServerStillAnswers()
    {
        async Task<int> StartAndDropAsync(int i)
        {
            string path = i % 2 == 0 ? "/v1/chat/completions" : "/v1/completions";
            using var request = new HttpRequestMessage(HttpMethod.Post, path)
            {
                Content = Json("{" + Input(i % 2 == 0, $"story {i}") + ",\"max_tokens\":200,\"ignore_eos\":true,\"stream\":true}"),
            };
            using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using Stream body = await response.Content.ReadAsStreamAsync(Ct);
            byte[] buffer = new byte[512];
            int read = await body.ReadAsync(buffer, Ct); // first event arrived: the request is in the engine
            return read;
        } // disposing the response drops the connection mid-stream

        // The tiny model could otherwise finish all 100 x 200 tokens within the idle wait below, so count
        // requests that ran to the end: with working aborts almost none do (a disconnect is noticed at the next
        // write, and a loaded 2-core machine may let a few race to the end first).
        int ranToEnd = 0;
        void OnFinished(VllmSharp.Engine.RequestFinishedInfo info)
        {
            if (info.GenerationTokens >= 200) Interlocked.Increment(ref ranToEnd);
        }

        server.Engine.RequestFinished += OnFinished;
        try
        {
            int[] reads = await Task.WhenAll(Enumerable.Range(0, 100).Select(StartAndDropAsync));
            Assert.All(reads, r => Assert.True(r > 0));
            await server.AssertEngineIdleAsync(); // zero running/waiting requests and every KV block free
        }
        finally
        {
            server.Engine.RequestFinished -= OnFinished;
        }

        Assert.True(Volatile.Read(ref ranToEnd) < 50, $"{ranToEnd} of 100 dropped streams still generated all 200 tokens");

        using var after = await server.Http.PostAsync("/v1/completions", Json("""{"prompt":"still there?","max_tokens":3,"ignore_eos":true}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        JsonNode body = JsonNode.Parse(await after.Content.ReadAsStringAsync(Ct))!;
        Assert.Equal(3, (int)body["usage"]!["completion_tokens"]!);
        await server.AssertEngineIdleAsync();
    }
}
