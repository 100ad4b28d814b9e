using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VllmSharp.Core.Config;
using VllmSharp.Engine;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Kernels;
using VllmSharp.Runtime.TestModels;
using VllmSharp.Server.Middleware;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>
/// Overload (issue 7 item 4): 200 simultaneous streaming clients against a server running 8 sequences at a time.
/// Without a queue limit every request completes; with <c>--max-waiting-requests 16</c> each one completes or gets a
/// clean 503, none is lost, <c>/health</c> keeps answering, and afterwards no request, KV block or admission is left.
/// </summary>
public sealed class OverloadTests(OverloadTests.ModelDirectory model) : IClassFixture<OverloadTests.ModelDirectory>
{
    private const int MaxNumSeqs = 8;
    private const int Clients = 200;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The tiny seeded model with the real Qwen tokenizer, written once for the class.</summary>
    public sealed class ModelDirectory : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vllmsharp-overload-" + Guid.NewGuid().ToString("N"));

        public ModelDirectory()
        {
            Directory.CreateDirectory(Path);
            TestModelWriter.Write(TestModelPresets.Get("tiny-qwen2"), DType.F32, Path, seed: 5, vocabSize: 151936);
            BuiltinTokenizer.WriteTo(Path);
        }

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>One server (engine with --max-num-seqs 8) for one test.</summary>
    private sealed class Running : IAsyncDisposable
    {
        public required AsyncLLM Engine { get; init; }
        public required ApiServer Server { get; init; }
        public required HttpClient Http { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Server.StopAsync();
            await Server.DisposeAsync();
            Engine.Dispose();
            Http.Dispose();
        }

        /// <summary>Waits (bounded) until no request is left in the engine, every KV block is free and no admission is held.</summary>
        public async Task AssertIdleAsync()
        {
            for (int i = 0; i < 500 && !(Engine.Stats.IsIdle && (Server.QueueLimit?.Admitted ?? 0) == 0); i++)
                await Task.Delay(10, Ct);
            Assert.True(Engine.Stats.IsIdle, $"engine not idle: {Engine.Stats}");
            Assert.Equal(0, Server.QueueLimit?.Admitted ?? 0);
        }
    }

    private async Task<Running> StartAsync(int? maxWaitingRequests)
    {
        var engine = new AsyncLLM(new EngineArgs { Model = model.Path, MaxModelLen = 256, KvCacheMemory = "64MiB", MaxNumSeqs = MaxNumSeqs });
        var server = ApiServer.Create(engine, new ServerArgs
        {
            Host = "127.0.0.1", Port = 0, ServedModelNames = ["tiny"], MaxWaitingRequests = maxWaitingRequests,
        });
        await server.StartAsync();
        var http = new HttpClient { BaseAddress = new Uri(server.Urls[0]), Timeout = TimeSpan.FromSeconds(60) };
        return new Running { Engine = engine, Server = server, Http = http };
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static int MaxTokens(int i) => 1 + i % 4; // varies so a usage mixed up between requests would show

    private static HttpRequestMessage StreamRequest(int i, int maxTokens)
    {
        bool chat = i % 2 == 0;
        string input = chat ? $"\"messages\":[{{\"role\":\"user\",\"content\":\"client {i} says hello\"}}]" : $"\"prompt\":\"client {i} says hello\"";
        return new HttpRequestMessage(HttpMethod.Post, chat ? "/v1/chat/completions" : "/v1/completions")
        {
            Content = Json("{" + input + $",\"max_tokens\":{maxTokens},\"ignore_eos\":true,\"seed\":{i},\"stream\":true,\"stream_options\":{{\"include_usage\":true}}}}"),
        };
    }

    /// <summary>Sends one streaming request; returns true when it completed correctly, false when refused with a clean 503.</summary>
    private static async Task<bool> StreamAsync(HttpClient http, int i)
    {
        using var request = StreamRequest(i, MaxTokens(i));
        using var response = await http.SendAsync(request, Ct);
        string raw = await response.Content.ReadAsStringAsync(Ct);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            AssertCleanRefusal(response, raw);
            return false;
        }
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("data: [DONE]\n\n", raw); // not a broken stream
        string[] events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        foreach (string e in events) Assert.DoesNotContain("\"error\"", e);
        JsonNode last = JsonNode.Parse(events[^2]["data: ".Length..])!;
        Assert.Equal(i % 2 == 0 ? "chat.completion.chunk" : "text_completion", (string)last["object"]!);
        JsonNode usage = last["usage"]!;
        Assert.Equal(MaxTokens(i), (int)usage["completion_tokens"]!); // ignore_eos: exactly max_tokens
        Assert.True((int)usage["prompt_tokens"]! > 0);
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);
        return true;
    }

    private static void AssertCleanRefusal(HttpResponseMessage response, string raw)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        JsonNode error = JsonNode.Parse(raw)!["error"]!;
        Assert.Equal("ServiceUnavailableError", (string)error["type"]!);
        Assert.Equal(503, (int)error["code"]!);
        Assert.Contains("--max-waiting-requests 16", (string)error["message"]!);
    }

    /// <summary>Polls /health every 20 ms until <paramref name="stop"/>; returns the number of polls and the slowest answer.</summary>
    private static async Task<(int Polls, TimeSpan Slowest)> PollHealthAsync(string baseUrl, CancellationToken stop)
    {
        // Its own client: the health probe of an orchestrator does not share the load's connection pool either.
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(10) };
        int polls = 0;
        TimeSpan slowest = TimeSpan.Zero;
        do
        {
            long start = Stopwatch.GetTimestamp();
            using (var response = await http.GetAsync("/health", Ct))
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            TimeSpan took = Stopwatch.GetElapsedTime(start);
            if (took > slowest) slowest = took;
            polls++;
            try { await Task.Delay(20, stop); } catch (OperationCanceledException) { }
        } while (!stop.IsCancellationRequested);
        return (polls, slowest);
    }

    /// <summary>Runs the 200 clients while polling /health; returns how many completed.</summary>
    private static async Task<int> RunLoadAsync(Running running)
    {
        using var stop = new CancellationTokenSource();
        Task<(int Polls, TimeSpan Slowest)> health = PollHealthAsync(running.Server.Urls[0], stop.Token);
        bool[] completed;
        try
        {
            completed = await Task.WhenAll(Enumerable.Range(0, Clients).Select(i => Task.Run(() => StreamAsync(running.Http, i), Ct)));
        }
        finally
        {
            stop.Cancel();
        }
        var (polls, slowest) = await health;
        TestContext.Current.TestOutputHelper?.WriteLine($"/health: {polls} polls, slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.True(polls >= 1);
        // The brief's bound: a liveness probe under full load must answer within 1 s (it never queues behind generation).
        Assert.True(slowest < TimeSpan.FromSeconds(1), $"/health took {slowest.TotalMilliseconds:F0} ms under load");
        return completed.Count(c => c);
    }

    [Fact]
    public async Task TwoHundredStreams_NoQueueLimit_AllCompleteWithExactUsage()
    {
        await using Running running = await StartAsync(maxWaitingRequests: null);
        Assert.Null(running.Server.QueueLimit);
        Assert.Equal(Clients, await RunLoadAsync(running));
        await running.AssertIdleAsync();
    }

    [Fact]
    public async Task TwoHundredStreams_MaxWaiting16_EachCompletesOrGetsClean503_NoneLost()
    {
        await using Running running = await StartAsync(maxWaitingRequests: 16);
        int completed = await RunLoadAsync(running);
        long refused = running.Server.QueueLimit!.Refused;
        TestContext.Current.TestOutputHelper?.WriteLine($"completed {completed}, refused {refused}");
        Assert.Equal(Clients, completed + refused); // every request answered one way or the other: nothing lost
        // A refusal happens only while 8 + 16 are admitted, and all of those complete.
        Assert.True(completed >= MaxNumSeqs + 16, $"only {completed} completed");
        await running.AssertIdleAsync();
    }

    [Fact]
    public async Task QueueFull_NextGenerationRequest_Gets503BeforeBodyIsRead_OtherRoutesStillAnswer()
    {
        await using Running running = await StartAsync(maxWaitingRequests: 16);
        const int Fill = MaxNumSeqs + 16;
        using var cancelFill = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        // Long streams (200 tokens each; a chat prompt's ~35 tokens + 200 fit --max-model-len 256) hold every admission
        // while the probes below run: the first of them ends only after 200 engine steps.
        var fill = Enumerable.Range(0, Fill).Select(async i =>
        {
            using var request = StreamRequest(i, maxTokens: 200);
            try
            {
                using var response = await running.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancelFill.Token);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await response.Content.ReadAsStringAsync(cancelFill.Token);
            }
            catch (OperationCanceledException) when (cancelFill.IsCancellationRequested)
            {
            }
        }).ToArray();
        try
        {
            // The engine's own view: 8 running and 16 in its waiting queue.
            for (int i = 0; i < 1000 && running.Engine.Stats is var s && s.NumRunning + s.NumWaiting < Fill; i++)
                await Task.Delay(5, Ct);
            Assert.Equal(MaxNumSeqs, running.Engine.Stats.NumRunning);
            Assert.Equal(16, running.Engine.Stats.NumWaiting);
            Assert.Equal(Fill, running.Server.QueueLimit!.Admitted);

            // Not even JSON: a 503, not a 400, shows the refusal comes before the body is read or tokenized.
            using (var garbage = await running.Http.PostAsync("/v1/completions", Json("{not json"), Ct))
                AssertCleanRefusal(garbage, await garbage.Content.ReadAsStringAsync(Ct));
            using (var chat = await running.Http.PostAsync("/V1/Chat/Completions/", Json("""{"messages":[{"role":"user","content":"hi"}]}"""), Ct))
                AssertCleanRefusal(chat, await chat.Content.ReadAsStringAsync(Ct));
            foreach (string path in new[] { "/health", "/v1/models", "/metrics", "/ping", "/version" })
                using (var response = await running.Http.GetAsync(path, Ct))
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode}");
            using (var tokenize = await running.Http.PostAsync("/tokenize", Json("""{"prompt":"hello"}"""), Ct))
                Assert.Equal(HttpStatusCode.OK, tokenize.StatusCode);
            Assert.Equal(2, running.Server.QueueLimit.Refused);
        }
        finally
        {
            cancelFill.Cancel(); // the 24 clients go away: their requests are aborted and their admissions released
            await Task.WhenAll(fill);
        }
        await running.AssertIdleAsync();

        // Room again: the next request is admitted and completes.
        using var after = await running.Http.PostAsync("/v1/completions", Json("""{"prompt":"room again?","max_tokens":3,"ignore_eos":true}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(3, (int)JsonNode.Parse(await after.Content.ReadAsStringAsync(Ct))!["usage"]!["completion_tokens"]!);
        await running.AssertIdleAsync();
    }

    [Fact]
    public void TryEnter_SequentialArrivals_AdmitsExactlyMaxNumSeqsPlusMaxWaiting()
    {
        var limit = new RequestQueueLimit(maxNumSeqs: 8, maxWaitingRequests: 16);
        int admitted = 0;
        for (int i = 0; i < 30; i++) if (limit.TryEnter()) admitted++;
        Assert.Equal(24, admitted);
        Assert.Equal(6, limit.Refused);
        limit.Exit();
        Assert.True(limit.TryEnter()); // a released slot is free again at once
        Assert.False(limit.TryEnter());

        var none = new RequestQueueLimit(maxNumSeqs: 1, maxWaitingRequests: 0);
        Assert.True(none.TryEnter());
        Assert.False(none.TryEnter()); // 0: nothing may wait behind the one running
    }

    [Fact]
    public void TryEnter_FourThreadsRacing_NeverMoreThanCapacityInside()
    {
        // Capacity 3 with 4 threads hammering enter/exit: a non-atomic check-then-increment lets a 4th in within a
        // few thousand rounds; the bound must hold in every one of them.
        var limit = new RequestQueueLimit(maxNumSeqs: 2, maxWaitingRequests: 1);
        int inside = 0, peak = 0, entered = 0;
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int round = 0; round < 20_000; round++)
            {
                if (!limit.TryEnter()) continue;
                int now = Interlocked.Increment(ref inside);
                int seen;
                while (now > (seen = Volatile.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen) { }
                Interlocked.Increment(ref entered);
                Interlocked.Decrement(ref inside);
                limit.Exit();
            }
        })).ToArray();
        foreach (Thread t in threads) t.Start();
        foreach (Thread t in threads) t.Join();
        Assert.InRange(peak, 1, 3);
        Assert.Equal(0, limit.Admitted);
        Assert.Equal(4 * 20_000, entered + limit.Refused);
    }

    [Fact]
    public void Exit_WithoutEnter_Throws()
        => Assert.Throws<InvalidOperationException>(() => new RequestQueueLimit(1, 0).Exit());
}
