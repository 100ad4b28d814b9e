using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.Models;

/// <summary>
/// The paged, batched forward pass against <see cref="ReferenceDecoder"/> on tiny seeded models of every
/// architecture. Tolerance: |Δlogit| ≤ 2e-3 · max|logit| + 1e-4 — f32 accumulation in a different order than
/// the double-precision reference, over 2 layers of width 64, stays orders of magnitude below that.
/// </summary>
public sealed class DecoderForwardTests
{
    private const int BlockSize = 4;

    public static TheoryData<string> Presets() => new() { "tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3" };

    [Theory]
    [MemberData(nameof(Presets))]
    public void Forward_FullPrefill_MatchesReferenceAtEveryPosition(string preset)
    {
        using var fixture = new ModelFixture(preset, DType.F32);
        int[] tokens = fixture.RandomTokens(23, seed: 1);
        float[][] expected = fixture.Reference.Logits(tokens);

        var batch = new ForwardBatch(64, 4, 16);
        batch.AddSequence(tokens, 0, Shuffled(16, seed: 3), BlockSize, computeLogits: false);
        for (int row = 0; row < tokens.Length; row++) batch.AddLogitsIndex(row);
        ReadOnlySpan<float> logits = fixture.Model.Forward(batch, fixture.NewCache());

        for (int row = 0; row < tokens.Length; row++)
            AssertClose(expected[row], logits.Slice(row * fixture.Model.VocabSize, fixture.Model.VocabSize), $"{preset} row {row}");
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Forward_ChunkedPrefillThenDecode_MatchesReference(string preset)
    {
        using var fixture = new ModelFixture(preset, DType.F32);
        int[] tokens = fixture.RandomTokens(19, seed: 2);
        float[][] expected = fixture.Reference.Logits(tokens);
        int[] blocks = Shuffled(8, seed: 5);
        KVCacheTensors cache = fixture.NewCache();
        var batch = new ForwardBatch(64, 4, 8);

        // 7 tokens, then a chunk of 9 continuing them, then 3 single-token decode steps.
        int done = 0;
        foreach (int chunk in new[] { 7, 9, 1, 1, 1 })
        {
            batch.Clear();
            batch.AddSequence(tokens.AsSpan(done, chunk), done, blocks, BlockSize, computeLogits: true);
            ReadOnlySpan<float> logits = fixture.Model.Forward(batch, cache);
            done += chunk;
            AssertClose(expected[done - 1], logits, $"{preset} after {done} tokens");
        }
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Forward_MixedBatch_EachSequenceMatchesItsReferenceAndGreedyTokenIsBatchInvariant(string preset)
    {
        using var fixture = new ModelFixture(preset, DType.F32);
        int[] a = fixture.RandomTokens(13, seed: 10), b = fixture.RandomTokens(17, seed: 11), c = fixture.RandomTokens(6, seed: 12);
        int[] perm = Shuffled(30, seed: 7);
        int[] blocksA = perm[..10], blocksB = perm[10..20], blocksC = perm[20..];
        KVCacheTensors cache = fixture.NewCache();
        var batch = new ForwardBatch(64, 4, 10);

        // Step 1: b's first 8 tokens and c's first 5 (prefills).
        batch.AddSequence(b.AsSpan(0, 8), 0, blocksB, BlockSize, computeLogits: false);
        batch.AddSequence(c.AsSpan(0, 5), 0, blocksC, BlockSize, computeLogits: true);
        fixture.Model.Forward(batch, cache);

        // Step 2: a full prefill of a, the rest of b as a continued chunk, and one decode token of c.
        batch.Clear();
        batch.AddSequence(a, 0, blocksA, BlockSize, computeLogits: true);
        batch.AddSequence(b.AsSpan(8), 8, blocksB, BlockSize, computeLogits: true);
        batch.AddSequence(c.AsSpan(5), 5, blocksC, BlockSize, computeLogits: true);
        float[] mixed = fixture.Model.Forward(batch, cache).ToArray();
        int v = fixture.Model.VocabSize;
        AssertClose(fixture.Reference.Logits(a)[^1], mixed.AsSpan(0, v), $"{preset} a");
        AssertClose(fixture.Reference.Logits(b)[^1], mixed.AsSpan(v, v), $"{preset} b");
        AssertClose(fixture.Reference.Logits(c)[^1], mixed.AsSpan(2 * v, v), $"{preset} c");

        // a alone, in a fresh cache: the same greedy token and (nearly) the same logits.
        batch.Clear();
        batch.AddSequence(a, 0, blocksA, BlockSize, computeLogits: true);
        ReadOnlySpan<float> alone = fixture.Model.Forward(batch, fixture.NewCache());
        Assert.Equal(ArgMax.Find(alone), ArgMax.Find(mixed.AsSpan(0, v)));
        AssertClose(alone.ToArray(), mixed.AsSpan(0, v), $"{preset} a alone vs batched");
    }

    [Fact]
    public void Forward_LlamaWithAttentionBias_AppliesQkvAndOBiases()
    {
        using var fixture = new ModelFixture("tiny-llama", DType.F32, attentionBias: true);
        int[] tokens = fixture.RandomTokens(9, seed: 8);
        var batch = new ForwardBatch(64, 4, 8);
        batch.AddSequence(tokens, 0, Shuffled(8, seed: 2), BlockSize, computeLogits: true);
        AssertClose(fixture.Reference.Logits(tokens)[^1], fixture.Model.Forward(batch, fixture.NewCache()), "attention_bias");
    }

    [Fact]
    public void Forward_SlidingWindow_MatchesReference()
    {
        using var fixture = new ModelFixture("tiny-mistral", DType.F32, slidingWindow: 5);
        int[] tokens = fixture.RandomTokens(14, seed: 4);
        float[][] expected = fixture.Reference.Logits(tokens);
        var batch = new ForwardBatch(64, 4, 8);
        batch.AddSequence(tokens, 0, Shuffled(8, seed: 9), BlockSize, computeLogits: true);
        AssertClose(expected[^1], fixture.Model.Forward(batch, fixture.NewCache()), "sliding window");
    }

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void Forward_HalfPrecisionWeights_MatchesReferenceOnSameWeights(DType type)
    {
        using var fixture = new ModelFixture("tiny-qwen2", type);
        int[] tokens = fixture.RandomTokens(11, seed: 6);
        var batch = new ForwardBatch(64, 4, 8);
        batch.AddSequence(tokens, 0, Shuffled(8, seed: 1), BlockSize, computeLogits: true);
        ReadOnlySpan<float> logits = fixture.Model.Forward(batch, fixture.NewCache());
        AssertClose(fixture.Reference.Logits(tokens)[^1], logits, type.ToString());
        foreach (float value in logits) Assert.True(float.IsFinite(value));
    }

    private static int[] Shuffled(int count, int seed)
    {
        int[] values = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(values);
        return values;
    }

    internal static void AssertClose(float[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = expected.Max(Math.Abs);
        Assert.True(scale > 0, $"{what}: reference logits are all zero");
        float tolerance = 2e-3f * scale + 1e-4f, worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"{what}: max |Δlogit| {worst} > {tolerance}");
    }

    /// <summary>A tiny model with dummy (seeded random) weights, its reference twin and a KV cache factory.</summary>
    private sealed class ModelFixture : IDisposable
    {
        public ModelFixture(string preset, DType type, int? slidingWindow = null, bool attentionBias = false)
        {
            HfConfig config = TestModelPresets.Get(preset).Config;
            if (slidingWindow is not null) config = config with { SlidingWindow = slidingWindow };
            if (attentionBias) config = config with { AttentionBias = true };
            Model = ModelRegistry.Create(config, new DummyWeightSource(config, type, seed: 42));
            Reference = new ReferenceDecoder(config, new DummyWeightSource(config, type, seed: 42), config.Architecture == "Qwen3ForCausalLM");
        }

        public ICausalLM Model { get; }
        public ReferenceDecoder Reference { get; }

        public KVCacheTensors NewCache() => new(Model.NumLayers, 32, BlockSize, Model.NumKvHeads, Model.HeadDim);

        public int[] RandomTokens(int count, int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(_ => random.Next(Model.VocabSize)).ToArray();
        }

        public void Dispose() => Model.Dispose();
    }
}
