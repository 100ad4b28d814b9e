using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>POST /v1/completions over real HTTP: response shapes, SSE framing, errors, concurrency and disconnects.</summary>
public sealed class CompletionsEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string path, string json)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsObject());
    }

    [Fact]
    public async Task Completions_NonStreaming_OpenAIShapeWithUsage()
    {
        var (status, body) = await PostAsync("/v1/completions", """{"model":"tiny","prompt":"Hello there","max_tokens":5,"temperature":0,"ignore_eos":true}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("cmpl-", (string?)body["id"]);
        Assert.Equal("text_completion", (string?)body["object"]);
        Assert.Equal("tiny", (string?)body["model"]);
        JsonObject choice = body["choices"]![0]!.AsObject();
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Equal("length", (string?)choice["finish_reason"]);
        Assert.Equal(5, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal((int)body["usage"]!["prompt_tokens"]! + 5, (int)body["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task Completions_ListOfPromptsAndN_ChoicesIndexedPromptMajor()
    {
        var (status, body) = await PostAsync("/v1/completions", """{"prompt":[[1,2,3],[4,5]],"n":2,"max_tokens":2,"seed":3,"ignore_eos":true}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([0, 1, 2, 3], body["choices"]!.AsArray().Select(c => (int)c!["index"]!));
        Assert.Equal(5, (int)body["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Completions_Streaming_SseFramesEndWithDoneAndMatchNonStreamingText()
    {
        string request = """{"model":"alias","prompt":"Once","max_tokens":6,"temperature":0,"ignore_eos":true""";
        var (_, whole) = await PostAsync("/v1/completions", request + "}");
        using var response = await server.Http.PostAsync("/v1/completions",
            new StringContent(request + ""","stream":true,"stream_options":{"include_usage":true}}""", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        string raw = await response.Content.ReadAsStringAsync(Ct);

        string[] events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!.AsObject()).ToList();
        string text = string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => (string?)c!["text"]));
        Assert.Equal((string?)whole["choices"]![0]!["text"], text);
        Assert.Equal("length", (string?)chunks[^2]["choices"]![0]!["finish_reason"]);
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(6, (int)chunks[^1]["usage"]!["completion_tokens"]!);
        Assert.All(chunks, c => Assert.Equal("alias", (string?)c["model"]));
    }

    [Theory]
    [InlineData("""{"model":"tiny","prompt":"x","temperature":-1}""", 400, "temperature")]
    [InlineData("""{"model":"tiny","prompt":"x","top_p":2}""", 400, "top_p")]
    [InlineData("""{"model":"tiny","prompt":"x","n":0}""", 400, "n")]
    [InlineData("""{"model":"tiny","prompt":"x","max_tokens":"ten"}""", 400, "max_tokens")]
    [InlineData("""{"model":"tiny","prompt":"x","max_tokens":100000}""", 400, "prompt")]
    [InlineData("""{"model":"tiny","prompt":[]}""", 400, "prompt")]
    [InlineData("""{"model":"tiny","prompt":{"a":1}}""", 400, "prompt")]
    [InlineData("""{"model":"tiny","prompt":[1,-5]}""", 400, "prompt")]
    [InlineData("""{"model":"tiny","prompt":"x","best_of":3}""", 400, "best_of")]
    [InlineData("""{"model":"nope","prompt":"x"}""", 404, "model")]
    [InlineData("""{"model":"tiny","prompt":"x","stream":true,"temperature":-1}""", 400, "temperature")]
    [InlineData("""not json""", 400, null)]
    [InlineData("""{"model":"tiny","prompt":"x","max_tokens":99999999999999999999}""", 400, "max_tokens")]
    public async Task Completions_BadInput_OpenAIErrorWith4xxNamingTheParameter(string json, int status, string? param)
    {
        var (code, body) = await PostAsync("/v1/completions", json);
        Assert.Equal(status, (int)code);
        JsonObject error = body["error"]!.AsObject();
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        Assert.Equal(status, (int)error["code"]!);
        Assert.Equal(param, (string?)error["param"]);
        await server.AssertEngineIdleAsync();
    }

    [Fact]
    public async Task Completions_SixteenConcurrentStreams_AllCompleteAndNoBlockLeaks()
    {
        async Task<int> Stream(int i)
        {
            using var response = await server.Http.PostAsync("/v1/completions", new StringContent(
                $$$"""{"prompt":"request {{{i}}}","max_tokens":8,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}""",
                Encoding.UTF8, "application/json"), Ct);
            string raw = await response.Content.ReadAsStringAsync(Ct);
            Assert.EndsWith("data: [DONE]\n\n", raw);
            string usage = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[^2]["data: ".Length..];
            return (int)JsonNode.Parse(usage)!["usage"]!["completion_tokens"]!;
        }
        int[] tokens = await Task.WhenAll(Enumerable.Range(0, 16).Select(Stream));
        Assert.All(tokens, t => Assert.Equal(8, t));
        await server.AssertEngineIdleAsync();
    }

    [Fact]
    public async Task Completions_ClientDisconnectsMidStream_RequestAbortedAndBlocksFreed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt":"a long story","max_tokens":200,"ignore_eos":true,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using (var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct))
        {
            await using Stream body = await response.Content.ReadAsStreamAsync(Ct);
            byte[] buffer = new byte[256];
            int read = await body.ReadAsync(buffer, Ct); // the first event arrived: the request is running
            Assert.True(read > 0);
        } // disposing the response drops the connection
        await server.AssertEngineIdleAsync();
    }

    [Fact]
    public async Task TokenizeAndDetokenize_RoundTrip()
    {
        var (_, tokens) = await PostAsync("/tokenize", """{"model":"tiny","prompt":"Hello world"}""");
        Assert.Equal(2, (int)tokens["count"]!);
        Assert.Equal(512, (int)tokens["max_model_len"]!);
        var (_, text) = await PostAsync("/detokenize", $$"""{"model":"tiny","tokens":{{tokens["tokens"]!.ToJsonString()}}}""");
        Assert.Equal("Hello world", (string?)text["prompt"]);
    }

    [Fact]
    public async Task Metrics_VllmNamesWithModelLabel_CountRequests()
    {
        var (status, _) = await PostAsync("/v1/completions", """{"prompt":"count me","max_tokens":3,"ignore_eos":true}""");
        Assert.Equal(HttpStatusCode.OK, status);
        string metrics = await server.Http.GetStringAsync("/metrics", Ct);
        foreach (string name in new[]
        {
            "vllm:num_requests_running{model_name=\"tiny\"}", "vllm:num_requests_waiting{model_name=\"tiny\"}",
            "vllm:kv_cache_usage_perc{model_name=\"tiny\"}", "vllm:time_to_first_token_seconds_bucket",
            "vllm:inter_token_latency_seconds_count", "vllm:e2e_request_latency_seconds_sum", "vllm:prefix_cache_queries_total",
            "vllm:request_success_total{model_name=\"tiny\",finished_reason=\"length\"}",
        })
            Assert.Contains(name, metrics);
        string generation = metrics.Split('\n').Single(l => l.StartsWith("vllm:generation_tokens_total{", StringComparison.Ordinal));
        Assert.True(double.Parse(generation.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 3, generation);
    }

    [Fact]
    public async Task Metrics_ProcessAndGcSeries_TrackTheRuntime()
    {
        static double Value(string metrics, string series) => double.Parse(
            metrics.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        int gen2Before = GC.CollectionCount(2);
        GC.Collect(); // the server runs in this process: a full collection must show in its series
        string metrics = await server.Http.GetStringAsync("/metrics", Ct);
        Assert.Contains("# TYPE dotnet_collection_count_total counter", metrics);
        Assert.True(Value(metrics, "dotnet_collection_count_total{generation=\"2\"}") >= gen2Before + 1);
        Assert.True(Value(metrics, "dotnet_collection_count_total{generation=\"0\"}") >= Value(metrics, "dotnet_collection_count_total{generation=\"2\"}"));
        Assert.True(Value(metrics, "process_resident_memory_bytes") > 10e6);
        Assert.True(Value(metrics, "process_cpu_seconds_total") > 0);
        Assert.True(Value(metrics, "dotnet_gc_allocated_bytes_total") > 0);
        Assert.InRange(Value(metrics, "dotnet_gc_pause_seconds_total"), 0, 3600);
    }

    [Fact]
    public async Task HealthAndModels_Answer()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/ping", Ct)).StatusCode);
        JsonObject models = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models", Ct))!.AsObject();
        Assert.Equal("list", (string?)models["object"]);
        Assert.Equal(["tiny", "alias"], models["data"]!.AsArray().Select(m => (string?)m!["id"]));
        Assert.Equal(512, (int)models["data"]![0]!["max_model_len"]!);
        Assert.Contains("version", await server.Http.GetStringAsync("/version", Ct));
    }
}
