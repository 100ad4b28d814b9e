using VllmSharp.Core.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.Sampling;

/// <summary>
/// Sampled frequencies against <see cref="SamplingReference"/>'s double-precision distribution. Each test draws a
/// fixed, seeded sequence and applies a chi-square test at the 1e-4 level (pooled cells expected ≥ 5): a correct
/// sampler fails it with probability 1e-4 for a given seed, and the seeds are fixed, so the outcome is stable; a
/// wrong temperature or a wrongly kept/dropped token shifts the statistic far beyond the critical value.
/// </summary>
public sealed class SamplerDistributionTests
{
    private const int Draws = 20_000;

    // Vocabulary 40 exercises both the 16-wide vector blocks and the scalar tail.
    private static readonly float[] s_flat40 = SamplingReference.RandomLogits(40, 0.7, seed: 11);

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(1.7)]
    public void Sample_Temperature_FrequenciesMatchSoftmax(double temperature)
    {
        var p = new SamplingParams { Temperature = temperature };
        int[] counts = SamplingReference.Counts(p, s_flat40, Draws);
        var (stat, critical, passes) = SamplingReference.ChiSquare(counts, SamplingReference.Probabilities(s_flat40, temperature));
        Assert.True(passes, $"chi-square {stat:F1} ≥ {critical:F1}");
    }

    [Fact]
    public void Sample_WrongTemperatureReference_ChiSquareRejects()
    {
        // The test's power: frequencies drawn at T = 1 are clearly rejected against the T = 0.8 distribution.
        int[] counts = SamplingReference.Counts(new SamplingParams { Temperature = 1.0 }, s_flat40, Draws);
        Assert.False(SamplingReference.ChiSquare(counts, SamplingReference.Probabilities(s_flat40, 0.8)).Passes);
    }

    [Fact]
    public void Sample_TopK_KeepsExactlyTheKMostLikely()
    {
        var p = new SamplingParams { Temperature = 1.0, TopK = 5 };
        int[] counts = SamplingReference.Counts(p, s_flat40, Draws);
        double[] expected = SamplingReference.Probabilities(s_flat40, 1.0, topK: 5);
        Assert.Equal(5, counts.Count(c => c > 0));
        Assert.True(SamplingReference.ChiSquare(counts, expected).Passes);
    }

    [Fact]
    public void Sample_TopKWithTiesAtTheBoundary_KeepsLowerTokenIds()
    {
        // Tokens 3, 9, 20 tie for second place; top_k = 2 keeps token 1 (the best) and the tie's lowest id, 3.
        float[] logits = new float[32];
        Array.Fill(logits, -1f);
        logits[1] = 2f;
        logits[3] = logits[9] = logits[20] = 1.5f;
        int[] counts = SamplingReference.Counts(new SamplingParams { Temperature = 1.0, TopK = 2 }, logits, 2000);
        Assert.True(counts[1] > 0 && counts[3] > 0);
        Assert.Equal(2000, counts[1] + counts[3]);
    }

    [Theory]
    [InlineData(0.79, 2)]
    [InlineData(0.81, 3)]
    [InlineData(0.96, 4)]
    public void Sample_TopP_KeepsTheMinimalNucleus(double topP, int expectedKept)
    {
        // Probabilities 0.5, 0.3, 0.15, 0.05 (minus 28 tokens at 1e-7 each): the nucleus is the shortest prefix
        // whose mass reaches top_p.
        float[] logits = new float[32];
        Array.Fill(logits, MathF.Log(1e-7f));
        logits[4] = MathF.Log(0.5f);
        logits[17] = MathF.Log(0.3f);
        logits[0] = MathF.Log(0.15f);
        logits[31] = MathF.Log(0.05f);
        var p = new SamplingParams { Temperature = 1.0, TopP = topP };
        int[] counts = SamplingReference.Counts(p, logits, Draws);
        double[] expected = SamplingReference.Probabilities(logits, 1.0, topP: topP);
        Assert.Equal(expectedKept, expected.Count(x => x > 0));
        Assert.Equal(expectedKept, counts.Count(c => c > 0));
        Assert.True(SamplingReference.ChiSquare(counts, expected).Passes);
    }

    [Fact]
    public void Sample_MinP_DropsTokensBelowFractionOfMax()
    {
        // p = 0.4, 0.3, 0.2, 0.05, 0.05: min_p = 0.3 cuts at 0.12, keeping the first three.
        // The dropped tokens sit in a vector block (3) and in the scalar tail (35).
        float[] logits = new float[40];
        Array.Fill(logits, float.NegativeInfinity);
        logits[2] = MathF.Log(0.4f);
        logits[3] = MathF.Log(0.05f);
        logits[5] = MathF.Log(0.3f);
        logits[34] = MathF.Log(0.2f);
        logits[35] = MathF.Log(0.05f);
        var p = new SamplingParams { Temperature = 1.0, MinP = 0.3 };
        int[] counts = SamplingReference.Counts(p, logits, Draws);
        double[] expected = SamplingReference.Probabilities(logits, 1.0, minP: 0.3);
        Assert.Equal(0, counts[3] + counts[35]);
        Assert.True(SamplingReference.ChiSquare(counts, expected).Passes);
    }

    [Fact]
    public void Sample_AllTruncationsOnLargeVocabulary_MatchReference()
    {
        // 4096 tokens, peaked logits: exercises the threshold levels and candidate gathering of top-k/top-p.
        float[] logits = SamplingReference.RandomLogits(4096, 2.5, seed: 5);
        var p = new SamplingParams { Temperature = 0.8, MinP = 0.01, TopK = 200, TopP = 0.9 };
        int[] counts = SamplingReference.Counts(p, logits, Draws);
        var (stat, critical, passes) = SamplingReference.ChiSquare(counts, SamplingReference.Probabilities(logits, 0.8, 0.01, 200, 0.9));
        Assert.True(passes, $"chi-square {stat:F1} ≥ {critical:F1}");
    }

    [Theory]
    [InlineData(50, 1.0)]
    [InlineData(-1, 0.9)]
    public void Sample_TopKOrTopPOnFlatLargeVocabulary_MatchReference(int topK, double topP)
    {
        // Nearly flat logits put thousands of tokens in the nucleus: the lowest threshold levels and a big sort.
        float[] logits = SamplingReference.RandomLogits(3000, 0.3, seed: 8);
        var p = new SamplingParams { Temperature = 1.0, TopK = topK, TopP = topP };
        int[] counts = SamplingReference.Counts(p, logits, Draws);
        double[] expected = SamplingReference.Probabilities(logits, 1.0, topK: topK, topP: topP);
        var (stat, critical, passes) = SamplingReference.ChiSquare(counts, expected);
        Assert.True(passes, $"chi-square {stat:F1} ≥ {critical:F1}");
    }
}
