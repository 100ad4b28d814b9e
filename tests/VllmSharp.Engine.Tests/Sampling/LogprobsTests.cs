using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.Sampling;

/// <summary>Top-k logprobs of the sampler against a full sort and a double-precision log-softmax.</summary>
public sealed class LogprobsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(20)]
    public void Select_RandomRowWithTies_MatchesFullSort(int k)
    {
        var random = new Random(k + 1);
        // Values on a coarse grid so that many tie: ties must keep the lower id first, as a stable sort does.
        float[] row = new float[3000];
        for (int i = 0; i < row.Length; i++) row[i] = random.Next(200) / 8f;
        int[] expected = Enumerable.Range(0, row.Length).OrderByDescending(i => row[i]).ThenBy(i => i).Take(k).ToArray();
        var ids = new int[k];
        var values = new float[k];
        Assert.Equal(k, TopLogprobs.Select(row, ids, values));
        Assert.Equal(expected, ids);
        for (int i = 0; i < k; i++) Assert.Equal(row[expected[i]], values[i]);
    }

    [Fact]
    public void Select_MaskedRow_ReturnsOnlyFiniteAndSkipsNaN()
    {
        float[] row = [float.NegativeInfinity, 2, float.NaN, float.NegativeInfinity, 1];
        var ids = new int[4];
        Assert.Equal(2, TopLogprobs.Select(row, ids, new float[4]));
        Assert.Equal([1, 4], ids[..2]);
    }

    [Theory]
    [InlineData(0.0, 5)]
    [InlineData(1.0, 20)]
    [InlineData(0.7, 0)]
    public void Sample_WithLogprobs_TopKAndSampledTokenMatchLogSoftmaxReference(double temperature, int k)
    {
        const int vocab = 151_936;
        float[] logits = SamplingReference.RandomLogits(vocab, 4, seed: 12);
        float[] raw = (float[])logits.Clone();
        // Penalties change the row before the draw; the reported values must still be those of the raw row.
        var p = new SamplingParams { Temperature = temperature, Seed = 5, Logprobs = k, RepetitionPenalty = 1.2 };
        var state = new SamplingState(p, [1, 2, 3], [], 0);
        var token = new int[1];
        var logprob = new float[1];
        new Sampler(vocab).Sample(logits, [state], token, logprob);

        var lp = state.SampledLogprobs!;
        Assert.Equal(token[0], lp.TokenId);
        Assert.Equal(logprob[0], lp.Logprob);
        // 1e-4 absolute: float max/sum-exp over 150k values carries ~1e-6 relative error; a wrong row or a missing
        // normalisation is off by far more.
        Assert.Equal(SamplingReference.LogSoftmax(raw, token[0]), lp.Logprob, 1e-4);
        int rank = 1 + raw.Count(x => x > raw[token[0]]);
        Assert.Equal(rank, lp.Rank);

        int[] expected = Enumerable.Range(0, vocab).OrderByDescending(i => raw[i]).ThenBy(i => i).Take(k).ToArray();
        Assert.Equal(expected, lp.TopTokenIds);
        for (int i = 0; i < k; i++)
        {
            Assert.Equal(SamplingReference.LogSoftmax(raw, expected[i]), lp.TopLogprobs[i], 1e-4);
            if (i > 0) Assert.True(lp.TopLogprobs[i] <= lp.TopLogprobs[i - 1]);
        }
    }

    [Fact]
    public void Sample_WithoutLogprobs_LeavesNoTopLogprobs()
    {
        float[] logits = SamplingReference.RandomLogits(1000, 3, seed: 1);
        var state = new SamplingState(new SamplingParams { Temperature = 0 }, [], [], 0);
        new Sampler(1000).Sample(logits, [state], new int[1], new float[1]);
        Assert.Null(state.SampledLogprobs);
    }

    [Fact]
    public void CountGreater_MatchesScalarCount()
    {
        float[] row = SamplingReference.RandomLogits(1001, 3, seed: 9);
        foreach (float x in row.Take(50))
            Assert.Equal(row.Count(v => v > x), TopLogprobs.CountGreater(row, x));
    }
}
