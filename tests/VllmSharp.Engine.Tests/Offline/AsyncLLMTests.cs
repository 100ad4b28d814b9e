using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.Offline;

/// <summary>AsyncLLM: streaming, concurrency, and aborts that free KV blocks wherever the request is.</summary>
public sealed class AsyncLLMTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    private AsyncLLM Create(int? maxNumBatchedTokens = null) => new(new EngineArgs
    {
        Model = model.Path,
        MaxModelLen = 512,
        MaxNumBatchedTokens = maxNumBatchedTokens,
        KvCacheMemory = "64MiB",
    });

    private static async Task WaitForAllBlocksFree(AsyncLLM llm)
    {
        var kv = llm.EngineCore.Scheduler.KVCacheManager;
        for (int i = 0; i < 500 && (kv.NumFreeBlocks != kv.NumBlocks || llm.EngineCore.HasUnfinishedRequests); i++) await Task.Delay(10, TestContext.Current.CancellationToken);
        Assert.Equal(kv.NumBlocks, kv.NumFreeBlocks);
        Assert.False(llm.EngineCore.HasUnfinishedRequests);
    }

    [Fact]
    public async Task GenerateAsync_DeltaOutputs_ConcatenateToTheOfflineResult()
    {
        var greedy = new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true };
        string expected;
        using (var offline = new LLM(new EngineArgs { Model = model.Path, MaxModelLen = 512, KvCacheMemory = "64MiB" }))
            expected = offline.Generate("Once upon a time", greedy).Outputs[0].Text;

        using AsyncLLM llm = Create();
        var text = new System.Text.StringBuilder();
        int outputs = 0;
        RequestOutput? last = null;
        await foreach (RequestOutput output in llm.GenerateAsync("Once upon a time", greedy with { OutputKind = RequestOutputKind.Delta }, "r1", cancellationToken: TestContext.Current.CancellationToken))
        {
            text.Append(output.Outputs.Count > 0 ? output.Outputs[0].Text : "");
            outputs++;
            last = output;
        }
        Assert.Equal(expected, text.ToString());
        Assert.True(outputs > 1, "delta outputs should stream token by token");
        Assert.True(last!.Finished);
        await WaitForAllBlocksFree(llm);
    }

    [Fact]
    public async Task GenerateAsync_ConcurrentRequests_AllCompleteWithTheirOwnGreedyTokens()
    {
        using AsyncLLM llm = Create();
        var greedy = new SamplingParams { Temperature = 0, MaxTokens = 8, IgnoreEos = true };
        string[] prompts = ["alpha", "beta gamma", "delta epsilon zeta", "eta"];
        async Task<IReadOnlyList<int>> Run(string prompt, string id)
        {
            RequestOutput? last = null;
            await foreach (RequestOutput o in llm.GenerateAsync(prompt, greedy, id, cancellationToken: TestContext.Current.CancellationToken)) last = o;
            return last!.Outputs[0].TokenIds;
        }
        var concurrent = await Task.WhenAll(prompts.Select((p, i) => Run(p, $"c{i}")));
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(await Run(prompts[i], $"s{i}"), concurrent[i]);
        await WaitForAllBlocksFree(llm);
    }

    [Fact]
    public async Task GenerateAsync_BreakMidDecode_AbortsAndFreesBlocks()
    {
        using AsyncLLM llm = Create();
        int seen = 0;
        await foreach (RequestOutput _ in llm.GenerateAsync("Tell me a story", new SamplingParams { MaxTokens = 200, IgnoreEos = true }, "abort-decode", cancellationToken: TestContext.Current.CancellationToken))
            if (++seen == 3) break;
        await WaitForAllBlocksFree(llm);
        Assert.Equal(0, llm.NumUnfinishedRequests);
    }

    [Fact]
    public async Task GenerateAsync_CancelledMidPrefill_AbortsAndFreesBlocks()
    {
        using AsyncLLM llm = Create(maxNumBatchedTokens: 16);
        string longPrompt = string.Join(' ', Enumerable.Range(0, 100).Select(i => $"w{i}"));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (RequestOutput _ in llm.GenerateAsync(longPrompt, new SamplingParams { MaxTokens = 4 }, "abort-prefill", cancellationToken: cts.Token)) { }
        });
        await WaitForAllBlocksFree(llm);

        // The engine still serves the next request.
        RequestOutput? last = null;
        await foreach (RequestOutput o in llm.GenerateAsync("after", new SamplingParams { MaxTokens = 2, IgnoreEos = true }, "next", cancellationToken: TestContext.Current.CancellationToken)) last = o;
        Assert.Equal(2, last!.Outputs[0].TokenIds.Count);
    }

    [Fact]
    public async Task GenerateAsync_InvalidParams_ThrowsBeforeReachingTheEngine()
    {
        using AsyncLLM llm = Create();
        var error = await Assert.ThrowsAsync<InvalidRequestException>(async () =>
        {
            await foreach (RequestOutput _ in llm.GenerateAsync("x", new SamplingParams { Temperature = -1 }, "bad", cancellationToken: TestContext.Current.CancellationToken)) { }
        });
        Assert.Equal("temperature", error.Parameter);
        Assert.Equal(0, llm.NumUnfinishedRequests);
    }
}
