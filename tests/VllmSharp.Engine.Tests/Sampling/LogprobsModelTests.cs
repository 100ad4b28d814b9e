using VllmSharp.Core.Config;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Sampling;
using VllmSharp.Engine.Tests.Offline;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Runtime;
using VllmSharp.Runtime.Models;
using Xunit;

namespace VllmSharp.Engine.Tests.Sampling;

/// <summary>
/// Logprobs and logits processors end to end on the tiny seeded model: the engine's values against a log-softmax of
/// the logits of one direct forward pass over prompt + output, computed in double.
/// </summary>
public sealed class LogprobsModelTests(TinyModelFixture model) : IClassFixture<TinyModelFixture>
{
    private const string Prompt = "The quick brown fox jumps over";

    private LLM Create() => new(new EngineArgs { Model = model.Path, MaxModelLen = 128, KvCacheMemory = "16MiB" });

    /// <summary>Logits of every position of <paramref name="tokens"/> from one prefill, row-major [position, vocab].</summary>
    private float[] DirectLogits(int[] tokens)
    {
        using ICausalLM m = ModelLoader.Load(model.Path);
        const int blockSize = 16;
        int blocks = (tokens.Length + blockSize - 1) / blockSize;
        var cache = new KVCacheTensors(m.NumLayers, blocks, blockSize, m.NumKvHeads, m.HeadDim);
        var batch = new ForwardBatch(tokens.Length, 1, blocks);
        batch.AddSequence(tokens, 0, Enumerable.Range(0, blocks).ToArray(), blockSize, computeLogits: false);
        for (int row = 0; row < tokens.Length; row++) batch.AddLogitsIndex(row);
        return m.Forward(batch, cache).ToArray();
    }

    [Fact]
    public void Generate_GreedyWithLogprobs_MatchesLogSoftmaxOfDirectForward()
    {
        using LLM llm = Create();
        RequestOutput output = llm.Generate(Prompt, new SamplingParams { Temperature = 0, MaxTokens = 6, IgnoreEos = true, Logprobs = 4 });
        CompletionOutput c = output.Outputs[0];
        IReadOnlyList<PositionLogprobs> positions = c.Logprobs!;
        Assert.Equal(c.TokenIds.Count, positions.Count);

        int[] sequence = [.. output.PromptTokenIds, .. c.TokenIds];
        float[] logits = DirectLogits(sequence[..^1]);
        int vocab = llm.EngineCore.ModelRunner.Model.VocabSize;
        double cumulative = 0;
        for (int j = 0; j < positions.Count; j++)
        {
            ReadOnlySpan<float> row = logits.AsSpan((output.PromptTokenIds.Count - 1 + j) * vocab, vocab);
            PositionLogprobs p = positions[j];
            Assert.Equal(c.TokenIds[j], p.TokenId);
            // 1e-4 absolute: the engine computes these logits in decode steps over the paged KV cache, the reference in
            // one prefill; both in f32, they differ by ~1e-6 relative. A wrong row or position is off by far more.
            Assert.Equal(SamplingReference.LogSoftmax(row, p.TokenId), p.Logprob, 1e-4);
            Assert.Equal(1, p.Rank); // greedy: the chosen token is the most likely one
            Assert.Equal(4, p.TopTokenIds.Length);
            Assert.Equal(p.TokenId, p.TopTokenIds[0]);
            float[] copy = row.ToArray();
            int[] expected = Enumerable.Range(0, vocab).OrderByDescending(i => copy[i]).ThenBy(i => i).Take(4).ToArray();
            Assert.Equal(expected, p.TopTokenIds);
            for (int t = 0; t < 4; t++) Assert.Equal(SamplingReference.LogSoftmax(row, expected[t]), p.TopLogprobs[t], 1e-4);
            cumulative += p.Logprob;
        }
        Assert.Equal(cumulative, c.CumulativeLogprob!.Value, 1e-4);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(5)] // chunked prefill: the prompt's logits rows arrive over several steps
    public void Generate_PromptLogprobs_MatchLogSoftmaxOfDirectForward(int? maxNumBatchedTokens)
    {
        using LLM llm = new(new EngineArgs { Model = model.Path, MaxModelLen = 128, KvCacheMemory = "16MiB", MaxNumBatchedTokens = maxNumBatchedTokens });
        RequestOutput output = llm.Generate(Prompt, new SamplingParams { Temperature = 0, MaxTokens = 2, PromptLogprobs = 2 });
        IReadOnlyList<int> prompt = output.PromptTokenIds;
        IReadOnlyList<PositionLogprobs?> positions = output.PromptLogprobs!;
        Assert.Equal(prompt.Count, positions.Count);
        Assert.Null(positions[0]);

        float[] logits = DirectLogits([.. prompt]);
        int vocab = llm.EngineCore.ModelRunner.Model.VocabSize;
        for (int p = 1; p < prompt.Count; p++)
        {
            ReadOnlySpan<float> row = logits.AsSpan((p - 1) * vocab, vocab);
            PositionLogprobs entry = positions[p]!;
            Assert.Equal(prompt[p], entry.TokenId);
            // 1e-4 absolute, as for the sampled tokens: f32 logits from differently shaped batches.
            Assert.Equal(SamplingReference.LogSoftmax(row, prompt[p]), entry.Logprob, 1e-4);
            float x = row[prompt[p]];
            int rank = 1;
            foreach (float v in row) if (v > x) rank++;
            Assert.Equal(rank, entry.Rank);
            Assert.Equal(2, entry.TopTokenIds.Length);
            Assert.True(entry.TopLogprobs[0] >= entry.TopLogprobs[1]);
            Assert.Equal(SamplingReference.LogSoftmax(row, entry.TopTokenIds[0]), entry.TopLogprobs[0], 1e-4);
        }
        var kv = llm.EngineCore.Scheduler.KVCacheManager;
        Assert.Equal(kv.NumBlocks, kv.NumFreeBlocks);
    }

    [Fact]
    public void Generate_PromptAndTokenLogprobsUnderPreemption_SameAsAlone()
    {
        string[] prompts =
        [
            "The quick brown fox jumps over the lazy dog",
            "A longer prompt that spans several blocks of sixteen tokens each, so that preemption has something to recompute.",
            "1 2 3 4 5 6 7 8 9 10",
            "def main():\n    print('hi')",
            "Bonjour le monde",
        ];
        var p = new SamplingParams { Temperature = 0, MaxTokens = 12, IgnoreEos = true, Logprobs = 1, PromptLogprobs = 1 };
        List<RequestOutput> alone;
        using (LLM reference = Create()) alone = prompts.Select(x => reference.Generate(x, p)).ToList();
        // 16 KiB per block of the tiny model: 6 blocks cannot hold five growing sequences, so some are preempted and
        // recomputed; their prompt logprobs must neither repeat nor go missing.
        using LLM llm = new(new EngineArgs { Model = model.Path, MaxModelLen = 64, KvCacheMemory = (6 * 16384).ToString(), EnablePrefixCaching = false });
        IReadOnlyList<RequestOutput> batched = llm.Generate(prompts, p, useProgressBar: false);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(alone[i].Outputs[0].TokenIds, batched[i].Outputs[0].TokenIds);
            IReadOnlyList<PositionLogprobs?> expected = alone[i].PromptLogprobs!, actual = batched[i].PromptLogprobs!;
            Assert.Equal(alone[i].PromptTokenIds.Count, actual.Count);
            for (int j = 1; j < actual.Count; j++)
            {
                Assert.Equal(expected[j]!.TokenId, actual[j]!.TokenId);
                // 1e-4: the same f32 model over differently shaped batches.
                Assert.Equal(expected[j]!.Logprob, actual[j]!.Logprob, 1e-4);
            }
            Assert.Equal(alone[i].Outputs[0].Logprobs!.Count, batched[i].Outputs[0].Logprobs!.Count);
        }
        Assert.True(llm.EngineCore.Scheduler.KVCacheManager.NumFreeBlocks == llm.EngineCore.Scheduler.KVCacheManager.NumBlocks);
    }

    [Fact]
    public void Generate_BadWords_NeverProducesTheBannedTokens()
    {
        using LLM llm = Create();
        var greedy = new SamplingParams { Temperature = 0, MaxTokens = 8, IgnoreEos = true };
        CompletionOutput baseline = llm.Generate(Prompt, greedy).Outputs[0];
        ITokenizer tokenizer = BuiltinTokenizer.Load();
        // Ban the word of the first generated token that has letters in it.
        string word = baseline.TokenIds.Select(id => tokenizer.Decode([id]).Trim()).First(w => w.Any(char.IsLetter));
        var banned = LogitsProcessors.TokenizeBadWords([word], tokenizer).Where(w => w.Length == 1).Select(w => w[0]).ToHashSet();
        Assert.NotEmpty(banned);

        CompletionOutput constrained = llm.Generate(Prompt, greedy with { BadWords = [word] }).Outputs[0];
        Assert.DoesNotContain(constrained.TokenIds, banned.Contains);
        Assert.NotEqual(baseline.TokenIds, constrained.TokenIds);
    }

    [Fact]
    public void Generate_AllowedTokenIdsAndLogitBias_RestrictAndForceTokens()
    {
        using LLM llm = Create();
        int[] allowed = [100, 200, 300];
        CompletionOutput restricted = llm.Generate(Prompt, new SamplingParams { Temperature = 1, Seed = 3, MaxTokens = 8, IgnoreEos = true, AllowedTokenIds = allowed }).Outputs[0];
        Assert.All(restricted.TokenIds, id => Assert.Contains(id, allowed));

        var bias = new SamplingParams { Temperature = 0, MaxTokens = 4, IgnoreEos = true, LogitBias = new Dictionary<int, double> { [4444] = 100 } };
        CompletionOutput forced = llm.Generate(Prompt, bias).Outputs[0];
        Assert.All(forced.TokenIds, id => Assert.Equal(4444, id));
    }
}
