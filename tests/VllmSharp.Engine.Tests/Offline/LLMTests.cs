using VllmSharp.Core.Config;
using VllmSharp.Core.Errors;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using Xunit;

namespace VllmSharp.Engine.Tests.Offline;

/// <summary>
/// The offline LLM end to end on a tiny seeded model: greedy outputs must not depend on the batch, chunking,
/// prefix-cache hits or preemption, and every test ends with the KV block pool full again.
/// </summary>
public sealed class LLMTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    private static readonly string[] s_prompts =
    [
        "The quick brown fox jumps over the lazy dog",
        "Hello",
        "A longer prompt that spans several blocks of sixteen tokens each, so that chunked prefill and the prefix cache both have something to do here.",
        "1 2 3 4 5 6 7 8 9 10",
        "def main():\n    print('hi')",
        "Bonjour le monde",
        "你好，世界",
        "The quick brown fox jumps over the lazy cat",
    ];

    private static readonly SamplingParams s_greedy = new() { Temperature = 0, MaxTokens = 12, IgnoreEos = true };

    private LLM Create(int? maxNumBatchedTokens = null, string kvCacheMemory = "64MiB", int maxModelLen = 256, bool prefixCaching = true)
        => new(new EngineArgs
        {
            Model = model.Path,
            MaxModelLen = maxModelLen,
            MaxNumBatchedTokens = maxNumBatchedTokens,
            KvCacheMemory = kvCacheMemory,
            EnablePrefixCaching = prefixCaching,
        });

    private static void AssertNoLeakedBlocks(LLM llm)
    {
        var kv = llm.EngineCore.Scheduler.KVCacheManager;
        Assert.Equal(kv.NumBlocks, kv.NumFreeBlocks);
        Assert.False(llm.EngineCore.HasUnfinishedRequests);
    }

    private static List<int[]> Alone(LLM llm, IEnumerable<string> prompts)
        => prompts.Select(p => llm.Generate(p, s_greedy).Outputs[0].TokenIds.ToArray()).ToList();

    [Fact]
    public void Generate_GreedyBatchOfEight_SameTokensAsEachPromptAlone()
    {
        using LLM llm = Create(prefixCaching: false);
        List<int[]> alone = Alone(llm, s_prompts);
        IReadOnlyList<RequestOutput> batched = llm.Generate(s_prompts, s_greedy, useProgressBar: false);
        for (int i = 0; i < s_prompts.Length; i++)
        {
            Assert.Equal(alone[i], batched[i].Outputs[0].TokenIds);
            Assert.Equal(12, batched[i].Outputs[0].TokenIds.Count);
            Assert.Equal("length", batched[i].Outputs[0].FinishReason);
        }
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Generate_ChunkedPrefillBudgetOf16_SameTokens()
    {
        List<int[]> expected;
        using (LLM reference = Create(prefixCaching: false)) expected = Alone(reference, s_prompts);
        using LLM llm = Create(maxNumBatchedTokens: 16, prefixCaching: false);
        IReadOnlyList<RequestOutput> outputs = llm.Generate(s_prompts, s_greedy, useProgressBar: false);
        for (int i = 0; i < s_prompts.Length; i++) Assert.Equal(expected[i], outputs[i].Outputs[0].TokenIds);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Generate_PrefixCacheHit_SameTokensAndReportsCachedTokens()
    {
        using LLM llm = Create();
        string prompt = s_prompts[2];
        RequestOutput first = llm.Generate(prompt, s_greedy);
        RequestOutput second = llm.Generate(prompt, s_greedy);
        Assert.Equal(first.Outputs[0].TokenIds, second.Outputs[0].TokenIds);
        Assert.Equal(0, first.NumCachedTokens);
        Assert.True(second.NumCachedTokens >= 16, $"expected a prefix-cache hit, got {second.NumCachedTokens} cached tokens");
        Assert.True(second.NumCachedTokens < second.PromptTokenIds.Count);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Generate_TinyKVBudgetForcesPreemption_SameTokens()
    {
        List<int[]> expected;
        using (LLM reference = Create(prefixCaching: false, maxModelLen: 64)) expected = Alone(reference, s_prompts);
        // 16 KiB per block (2 layers × K,V × 16 tokens × 2 kv heads × 32 dims × 4 bytes): 6 blocks for 8 prompts.
        using LLM llm = Create(kvCacheMemory: (6 * 16384).ToString(), maxModelLen: 64, prefixCaching: false);
        IReadOnlyList<RequestOutput> outputs = llm.Generate(s_prompts, s_greedy, useProgressBar: false);
        for (int i = 0; i < s_prompts.Length; i++) Assert.Equal(expected[i], outputs[i].Outputs[0].TokenIds);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Generate_SeededSampling_SameTokensWhateverTheBatch()
    {
        using LLM llm = Create();
        var seeded = new SamplingParams { Temperature = 1.0, TopP = 0.9, Seed = 1234, MaxTokens = 10, IgnoreEos = true };
        int[] alone = [.. llm.Generate(s_prompts[0], seeded).Outputs[0].TokenIds];
        var perPrompt = s_prompts.Select((_, i) => i == 3 ? seeded : new SamplingParams { Temperature = 0.8, MaxTokens = 5 + i, Seed = i }).ToList();
        var prompts = s_prompts.Select((p, i) => (PromptInput)(i == 3 ? s_prompts[0] : p)).ToList();
        IReadOnlyList<RequestOutput> batched = llm.Generate(prompts, perPrompt, useProgressBar: false);
        Assert.Equal(alone, batched[3].Outputs[0].TokenIds);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Generate_NGreaterThanOne_ReturnsNCompletionsInIndexOrder()
    {
        using LLM llm = Create();
        RequestOutput output = llm.Generate(s_prompts[1], new SamplingParams { N = 3, Temperature = 1.0, Seed = 5, MaxTokens = 6, IgnoreEos = true });
        Assert.Equal([0, 1, 2], output.Outputs.Select(o => o.Index));
        Assert.True(output.Finished);
        Assert.All(output.Outputs, o => Assert.Equal(6, o.TokenIds.Count));
        Assert.NotEqual(output.Outputs[0].TokenIds, output.Outputs[1].TokenIds);
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Generate_TokenIdPrompt_EqualsTextPrompt()
    {
        using LLM llm = Create();
        int[] ids = [.. llm.Tokenizer.Encode(s_prompts[0])];
        Assert.Equal(llm.Generate(s_prompts[0], s_greedy).Outputs[0].TokenIds, llm.Generate(PromptInput.FromTokens(ids), s_greedy).Outputs[0].TokenIds);
    }

    [Fact]
    public void Generate_InvalidParamsOrTooLongPrompt_ThrowsTypedErrorAndLeavesEngineEmpty()
    {
        using LLM llm = Create(maxModelLen: 32);
        var error = Assert.Throws<InvalidRequestException>(() => llm.Generate(["ok", "ok"], new SamplingParams { TopP = 1.5 }));
        Assert.Equal("top_p", error.Parameter);
        Assert.Throws<ContextLengthExceededException>(() => llm.Generate(string.Join(' ', Enumerable.Repeat("word", 64)), s_greedy));
        AssertNoLeakedBlocks(llm);
    }

    [Fact]
    public void Generate_StopString_TruncatesTextAndFinishesWithStop()
    {
        using LLM llm = Create();
        RequestOutput free = llm.Generate(s_prompts[0], s_greedy);
        string text = free.Outputs[0].Text;
        Assert.True(text.Length >= 4, "need some generated text to pick a stop string from");
        string stop = text.Substring(2, 2);
        RequestOutput stopped = llm.Generate(s_prompts[0], s_greedy with { Stop = [stop] });
        Assert.Equal("stop", stopped.Outputs[0].FinishReason);
        Assert.Equal(stop, stopped.Outputs[0].StopReason);
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.Outputs[0].Text);
        AssertNoLeakedBlocks(llm);
    }
}
