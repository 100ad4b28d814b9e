using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Sampling;
using VllmSharp.Engine.Tests.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>The sampler's handling of allowed-token masks (structured outputs) on single rows and mixed batches.</summary>
public sealed class MaskedSamplingTests
{
    private const int Vocab = 1000;

    private static ulong[] MaskOf(params int[] allowed)
    {
        var mask = new ulong[(Vocab + 63) / 64];
        foreach (int id in allowed) mask[id >> 6] |= 1UL << id;
        return mask;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(2.5)]
    public void Sample_MaskedRow_OnlyAllowedTokensDrawn(double temperature)
    {
        int[] allowed = [3, 64, 65, 127, 500, 999];
        var sampler = new Sampler(Vocab);
        var seen = new HashSet<int>();
        for (int trial = 0; trial < 300; trial++)
        {
            float[] logits = SamplingReference.RandomLogits(Vocab, 4, seed: trial);
            var state = new SamplingState(new SamplingParams { Temperature = temperature, Seed = trial }, [], [], 0) { AllowedTokenMask = MaskOf(allowed) };
            var token = new int[1];
            var logprob = new float[1];
            sampler.Sample(logits, [state], token, logprob);
            Assert.Contains(token[0], allowed);
            seen.Add(token[0]);
        }
        if (temperature > 0) Assert.True(seen.Count >= 4, "random draws should reach most allowed tokens");
    }

    [Fact]
    public void Sample_Greedy_PicksBestAllowedAndLogprobOverAllowedOnly()
    {
        float[] logits = SamplingReference.RandomLogits(Vocab, 4, seed: 1);
        logits[10] = 50; // the unmasked favourite, disallowed
        logits[20] = 2;
        logits[30] = 1;
        var state = new SamplingState(new SamplingParams { Temperature = 0 }, [], [], 0) { AllowedTokenMask = MaskOf(20, 30) };
        var token = new int[1];
        var logprob = new float[1];
        new Sampler(Vocab).Sample(logits, [state], token, logprob);
        Assert.Equal(20, token[0]);
        // As vLLM (bitmask applied before the sampler): log-softmax over the allowed tokens, log(e²/(e²+e¹)).
        Assert.Equal(-Math.Log(1 + Math.Exp(-1)), logprob[0], 1e-5);
    }

    [Fact]
    public void Sample_MaskShorterThanRow_TailDisallowed()
    {
        float[] logits = new float[Vocab];
        logits[Vocab - 1] = 100;
        var state = new SamplingState(new SamplingParams { Temperature = 0 }, [], [], 0) { AllowedTokenMask = [1UL << 5] };
        var token = new int[1];
        new Sampler(Vocab).Sample(logits, [state], token, new float[1]);
        Assert.Equal(5, token[0]);
    }

    [Fact]
    public void Sample_MixedBatch_UnconstrainedRowsBitwiseIdentical()
    {
        const int rows = 6;
        float[] logits = SamplingReference.RandomLogits(Vocab * rows, 3, seed: 7);
        float[] alone = (float[])logits.Clone();
        SamplingState Make(int r, bool masked) => new(new SamplingParams { Temperature = 0.8, TopP = 0.9, Seed = 100 + r }, [], [], 0)
        {
            AllowedTokenMask = masked ? MaskOf(1, 2, 3) : null,
        };

        var mixedStates = Enumerable.Range(0, rows).Select(r => Make(r, r % 2 == 1)).ToArray();
        var mixedTokens = new int[rows];
        var mixedLogprobs = new float[rows];
        new Sampler(Vocab).Sample(logits, mixedStates, mixedTokens, mixedLogprobs);

        for (int r = 0; r < rows; r += 2)
        {
            var token = new int[1];
            var logprob = new float[1];
            new Sampler(Vocab).Sample(alone.AsSpan(r * Vocab, Vocab), [Make(r, false)], token, logprob);
            Assert.Equal(token[0], mixedTokens[r]);
            Assert.Equal(BitConverter.SingleToInt32Bits(logprob[0]), BitConverter.SingleToInt32Bits(mixedLogprobs[r]));
            Assert.True(alone.AsSpan(r * Vocab, Vocab).SequenceEqual(logits.AsSpan(r * Vocab, Vocab)), "an unconstrained row was modified");
        }
        for (int r = 1; r < rows; r += 2) Assert.InRange(mixedTokens[r], 1, 3);
    }
}
