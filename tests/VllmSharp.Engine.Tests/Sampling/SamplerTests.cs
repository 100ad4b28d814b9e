using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.Sampling;

public sealed class SamplerTests
{
    private static readonly SamplingParams s_greedy = new() { Temperature = 0 };

    private static (int Token, float Logprob) SampleOne(float[] logits, SamplingState state)
    {
        var sampler = new Sampler(logits.Length);
        var token = new int[1];
        var logprob = new float[1];
        sampler.Sample(logits, [state], token, logprob);
        return (token[0], logprob[0]);
    }

    [Fact]
    public void Sample_Greedy_ReturnsArgMaxOfEveryRow()
    {
        const int vocab = 1000, rows = 5;
        float[] logits = SamplingReference.RandomLogits(vocab * rows, 3, seed: 2);
        float[] copy = (float[])logits.Clone();
        var states = Enumerable.Range(0, rows).Select(_ => new SamplingState(s_greedy, [], [], 0)).ToArray();
        var tokens = new int[rows];
        var logprobs = new float[rows];
        new Sampler(vocab).Sample(logits, states, tokens, logprobs);
        for (int r = 0; r < rows; r++)
        {
            var row = copy.AsSpan(r * vocab, vocab);
            int best = 0;
            for (int i = 1; i < vocab; i++) if (row[i] > row[best]) best = i;
            Assert.Equal(best, tokens[r]);
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(0.3)]
    public void Sample_Logprob_EqualsLogSoftmaxOfRawRow(double temperature)
    {
        // Penalties and temperature change the row, yet the reported log-probability is that of the raw logits.
        const int vocab = 151_936;
        float[] logits = SamplingReference.RandomLogits(vocab, 4, seed: 3);
        float[] raw = (float[])logits.Clone();
        var p = new SamplingParams { Temperature = temperature, RepetitionPenalty = 1.3, FrequencyPenalty = 0.5, PresencePenalty = 0.2, Seed = 9 };
        // Token 5 stands far above the rest even after its penalties, so it is the one drawn, and it is the one
        // whose value the penalties changed: the raw value must come from before them.
        logits[5] = raw[5] = 40f;
        var state = new SamplingState(p, [5, 7, 8], [], 0);
        state.AppendOutputToken(5);
        state.AppendOutputToken(9);
        var (token, logprob) = SampleOne(logits, state);
        Assert.Equal(5, token);
        // Float sums of 150k exponentials carry ~1e-6 relative error; 1e-4 absolute leaves room without hiding a
        // wrong row (using the penalised row instead shifts the value by ~0.1 or more).
        Assert.Equal(SamplingReference.LogSoftmax(raw, token), logprob, 1e-4);
    }

    [Fact]
    public void Sample_Penalties_RowMatchesReferenceFormula()
    {
        float[] logits = [2f, -1f, 0.5f, 3f, -2f, 1f, 0f, 4f, -0.5f, 1.5f, 2.5f, -3f, 0.25f, 0.75f, -1.25f, 1.75f, 3.5f, -0.75f];
        float[] raw = (float[])logits.Clone();
        int[] prompt = [0, 1, 1, 4];
        int[] outputs = [3, 3, 3, 1, 6, 16];
        var p = new SamplingParams { Temperature = 0.7, RepetitionPenalty = 1.5, FrequencyPenalty = 0.4, PresencePenalty = -0.3, Seed = 1 };
        var state = new SamplingState(p, prompt, [], 0);
        foreach (int t in outputs) state.AppendOutputToken(t);
        SampleOne(logits, state);

        for (int i = 0; i < raw.Length; i++)
        {
            double x = raw[i];
            if (prompt.Contains(i) || outputs.Contains(i)) x = x > 0 ? x / 1.5 : x * 1.5;
            int count = outputs.Count(t => t == i);
            x -= 0.4 * count + (count > 0 ? -0.3 : 0);
            Assert.Equal(x, logits[i], 1e-5); // float vs double arithmetic on values of order 1
        }
    }

    [Fact]
    public void Sample_MinTokens_MasksEosAndStopIdsUntilReached()
    {
        // EOS (5) is the best token, stop id 7 the second; neither may appear before 3 output tokens.
        float[] logits = new float[24];
        logits[5] = 10f;
        logits[7] = 9f;
        logits[12] = 1f;
        var p = new SamplingParams { Temperature = 0, MinTokens = 3, StopTokenIds = [7] };
        var state = new SamplingState(p, [], [5], 0);
        for (int step = 0; step < 3; step++)
        {
            float[] row = (float[])logits.Clone();
            var (token, _) = SampleOne(row, state);
            Assert.Equal(12, token);
            Assert.True(float.IsNegativeInfinity(row[5]) && float.IsNegativeInfinity(row[7]));
            state.AppendOutputToken(token);
        }
        Assert.Equal(5, SampleOne((float[])logits.Clone(), state).Token);
    }

    [Fact]
    public void Sample_MinTokensWithIgnoreEos_MasksOnlyStopIds()
    {
        float[] logits = new float[24];
        logits[5] = 10f;
        logits[7] = 11f;
        var p = new SamplingParams { Temperature = 0, MinTokens = 3, StopTokenIds = [7], IgnoreEos = true };
        Assert.Equal(5, SampleOne(logits, new SamplingState(p, [], [5], 0)).Token);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.7)]
    public void Sample_AllButOneTokenMasked_PicksThatToken(double temperature)
    {
        float[] logits = new float[300];
        Array.Fill(logits, float.NegativeInfinity);
        logits[123] = -50f;
        var p = new SamplingParams { Temperature = temperature, TopK = 3, TopP = 0.5, MinP = 0.2, Seed = 4 };
        var (token, logprob) = SampleOne(logits, new SamplingState(p, [], [], 0));
        Assert.Equal(123, token);
        Assert.Equal(0f, logprob, 1e-6);
    }

    [Fact]
    public void Sample_TinyTemperature_PicksTheMaximumWithoutNaN()
    {
        float[] logits = SamplingReference.RandomLogits(100, 2, seed: 10);
        float[] raw = (float[])logits.Clone();
        int best = Array.IndexOf(raw, raw.Max());
        var (token, logprob) = SampleOne(logits, new SamplingState(new SamplingParams { Temperature = 1e-300, Seed = 1 }, [], [], 0));
        Assert.Equal(best, token);
        Assert.Equal(SamplingReference.LogSoftmax(raw, best), logprob, 1e-5);
    }

    [Fact]
    public void Sample_MinTokensMasksAllButOne_PicksTheRemainingToken()
    {
        float[] logits = SamplingReference.RandomLogits(20, 2, seed: 6);
        int[] stops = Enumerable.Range(0, 20).Where(i => i != 13).ToArray();
        var p = new SamplingParams { Temperature = 1.2, MinTokens = 1, StopTokenIds = stops, Seed = 3 };
        Assert.Equal(13, SampleOne(logits, new SamplingState(p, [], [], 0)).Token);
    }

    [Fact]
    public void Sample_SameSeed_SameTokensWhateverTheBatchAndRowOrder()
    {
        const int vocab = 2000, steps = 12;
        SamplingParams[] ps =
        [
            new() { Temperature = 1.0, Seed = 1 },
            new() { Temperature = 0.8, TopP = 0.9, Seed = 2 },
            new() { Temperature = 1.1, TopK = 20, RepetitionPenalty = 1.2, Seed = 3 },
            new() { Temperature = 0 },
            new() { Temperature = 0.6, MinP = 0.05, FrequencyPenalty = 0.5 }, // unseeded: fallback seed 77
        ];
        int[][] together = Run(ps, [0, 1, 2, 3, 4], vocab, steps);
        int[][] reversed = Run(ps, [4, 3, 2, 1, 0], vocab, steps);
        for (int r = 0; r < ps.Length; r++)
        {
            int[][] alone = Run(ps, [r], vocab, steps);
            Assert.Equal(together[r], alone[0]);
            Assert.Equal(together[r], reversed[ps.Length - 1 - r]);
        }
    }

    [Fact]
    public void Sample_DifferentSeeds_DifferentTokens()
    {
        int[][] a = Run([new() { Temperature = 1.0, Seed = 1 }], [0], 2000, 30);
        int[][] b = Run([new() { Temperature = 1.0, Seed = 2 }], [0], 2000, 30);
        Assert.NotEqual(a[0], b[0]);
    }

    [Fact]
    public void Sample_ManyRandomConfigurations_TokensInRangeAndLogprobsFinite()
    {
        const int vocab = 777;
        var rng = new Random(12);
        var sampler = new Sampler(vocab);
        var token = new int[1];
        var logprob = new float[1];
        for (int trial = 0; trial < 200; trial++)
        {
            var p = new SamplingParams
            {
                Temperature = rng.Next(3) == 0 ? 0 : 0.05 + rng.NextDouble() * 2,
                TopK = rng.Next(2) == 0 ? -1 : 1 + rng.Next(vocab + 10),
                TopP = rng.Next(2) == 0 ? 1 : 0.01 + rng.NextDouble() * 0.99,
                MinP = rng.Next(2) == 0 ? 0 : rng.NextDouble(),
                RepetitionPenalty = 0.5 + rng.NextDouble() * 1.5,
                Seed = trial,
            };
            float[] logits = SamplingReference.RandomLogits(vocab, 0.1 + rng.NextDouble() * 20, seed: trial);
            var state = new SamplingState(p, [1, 2, 3], [0], 0);
            sampler.Sample(logits, [state], token, logprob);
            Assert.InRange(token[0], 0, vocab - 1);
            Assert.True(float.IsFinite(logprob[0]) && logprob[0] <= 0, $"trial {trial}: logprob {logprob[0]}");
        }
    }

    // Runs `steps` decode steps for the chosen requests in the given row order, with fresh states; logits depend
    // only on (request, step) so any difference comes from the sampler. Result indexed by row.
    private static int[][] Run(SamplingParams[] ps, int[] order, int vocab, int steps)
    {
        var sampler = new Sampler(vocab);
        var states = order.Select(i => new SamplingState(ps[i], [i, i + 1], [0], fallbackSeed: 77)).ToArray();
        var result = order.Select(_ => new int[steps]).ToArray();
        var logits = new float[order.Length * vocab];
        var tokens = new int[order.Length];
        var logprobs = new float[order.Length];
        for (int s = 0; s < steps; s++)
        {
            for (int r = 0; r < order.Length; r++)
                SamplingReference.RandomLogits(vocab, 2, seed: order[r] * 1000 + s).CopyTo(logits, r * vocab);
            sampler.Sample(logits, states, tokens, logprobs);
            for (int r = 0; r < order.Length; r++)
            {
                result[r][s] = tokens[r];
                states[r].AppendOutputToken(tokens[r]);
            }
        }
        return result;
    }
}
