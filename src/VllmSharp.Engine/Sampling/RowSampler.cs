using VllmSharp.Kernels;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// Samples one row with its own scratch (one instance per thread that samples). Order as vLLM v1: raw log-softmax
/// statistics, min_tokens, repetition/frequency/presence penalties, then greedy arg max, or temperature, min_p,
/// top_k, top_p and one inverse-CDF draw from the request's generator.
/// </summary>
/// <remarks>
/// Penalised logits are written back into the row (they only touch tokens the request has seen); temperature and
/// the truncations work on _probs, unnormalised probabilities q = exp((logit − max) / T) with q = 1 at
/// the maximum. Top-k/top-p never sort the vocabulary: a few cheap passes find a threshold above which enough
/// tokens (top-k) or enough mass (top-p) lie, and only those candidates go through a quickselect.
/// </remarks>
internal sealed class RowSampler
{
    // Candidate thresholds on q, tried from the top: each failed level costs one counting pass over the row.
    private static readonly float[] s_levels =
        [1f / 4, 1f / 32, 1f / 256, 1f / 2048, 1f / 16384, 1f / 131072, 1f / 1048576, 1f / 16777216, float.Epsilon];

    private readonly int _vocabSize;
    private readonly float[] _probs;
    private readonly ulong[] _keys;
    // Raw values of the logits the processors changed, so the sampled token's raw log-probability can be computed
    // after the row was modified in place. Grown on demand, never shrunk.
    private int[] _changedIds = new int[64];
    private float[] _changedRaw = new float[64];
    private int _changedCount;

    public RowSampler(int vocabSize)
    {
        _vocabSize = vocabSize;
        _probs = new float[vocabSize];
        _keys = new ulong[vocabSize];
    }

    public void Sample(Span<float> row, SamplingState state, out int token, out float logprob)
    {
        float rawMax = SamplingSimd.Max(row);
        double rawLogSum = Math.Log(SamplingSimd.SumExp(row, rawMax));

        _changedCount = 0;
        ApplyMinTokens(row, state);
        ApplyPenalties(row, state);

        if (state.Params.IsGreedy)
        {
            // Untouched row: the maximum is known, one search finds its first occurrence (NaN rows fall through).
            token = _changedCount == 0 ? SamplingSimd.IndexOf(row, rawMax) : -1;
            if (token < 0) token = ArgMax.Find(row);
        }
        else
        {
            float max = _changedCount == 0 ? rawMax : SamplingSimd.Max(row);
            // Everything masked (e.g. min_tokens over a vocabulary of stop ids): nothing to draw from.
            token = float.IsNegativeInfinity(max) ? ArgMax.Find(row) : SampleRandom(row, state, max);
        }
        logprob = (float)(RawValue(row, token) - rawMax - rawLogSum);
    }

    private int SampleRandom(Span<float> row, SamplingState state, float max)
    {
        var p = state.Params;
        Span<float> q = _probs.AsSpan(0, _vocabSize);
        // Clamped: an infinite 1/T would turn the maximum's (0 · ∞) into NaN; float.MaxValue keeps it at 0.
        float invTemperature = (float)Math.Min(1.0 / p.Temperature, float.MaxValue);
        double total = SamplingSimd.ExpScaled(row, q, max, invTemperature, (float)p.MinP);
        // Drawn before any branch so every sampled token costs exactly one draw.
        double u = state.Generator.NextDouble();

        int k = p.TopK > 0 && p.TopK < _vocabSize ? p.TopK : 0;
        double topP = p.TopP;
        if (k == 0 && topP >= 1) return SamplingSimd.InverseCdf(q, u * total);

        float threshold = float.Epsilon;
        foreach (float level in s_levels)
        {
            var (count, mass) = SamplingSimd.CountAtLeast(q, level);
            // Top-p runs inside the top-k set, so with top-k only the count matters.
            if (k > 0 ? count >= k : mass >= topP * total)
            {
                threshold = level;
                break;
            }
        }
        Span<ulong> keys = _keys.AsSpan(0, SamplingSimd.Gather(q, threshold, _keys));
        int n = keys.Length;
        if (k > 0 && k < n)
        {
            CandidateSelect.SmallestByCount(keys, k);
            n = k;
        }
        if (topP < 1)
        {
            // After top-k vLLM renormalises over the survivors, so the nucleus is a fraction of their mass.
            double target = topP * (k > 0 ? CandidateSelect.Mass(keys[..n]) : total);
            n = CandidateSelect.SmallestByMass(keys[..n], target);
        }

        // The survivors are in no particular (but deterministic) order; any fixed order samples the same law.
        keys = keys[..n];
        double draw = u * CandidateSelect.Mass(keys), running = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            running += SamplingSimd.KeyValue(keys[i]);
            if (running > draw) return SamplingSimd.KeyIndex(keys[i]);
        }
        return SamplingSimd.KeyIndex(keys[^1]);
    }

    private void ApplyMinTokens(Span<float> row, SamplingState state)
    {
        if (!state.MinTokensActive) return;
        foreach (int id in state.MinTokensMaskIds)
        {
            if ((uint)id >= (uint)row.Length) continue;
            Record(id, row[id]);
            row[id] = float.NegativeInfinity;
        }
    }

    private void ApplyPenalties(Span<float> row, SamplingState state)
    {
        if (!state.HasPenalties) return;
        var p = state.Params;
        float repetition = (float)p.RepetitionPenalty;
        if (repetition != 1f)
        {
            // Every token seen in the prompt or the output, once.
            foreach (int id in state.PromptTokens) Repeat(row, id, repetition);
            foreach (int id in state.OutputDistinct)
                if (!state.PromptContains(id)) Repeat(row, id, repetition);
        }

        float frequency = (float)p.FrequencyPenalty, presence = (float)p.PresencePenalty;
        if (frequency == 0 && presence == 0) return;
        foreach (int id in state.OutputDistinct)
        {
            if ((uint)id >= (uint)row.Length) continue;
            Record(id, row[id]);
            row[id] -= frequency * state.OutputCounts[id] + presence;
        }
    }

    private void Repeat(Span<float> row, int id, float penalty)
    {
        if ((uint)id >= (uint)row.Length) return;
        float x = row[id];
        Record(id, x);
        row[id] = x > 0 ? x / penalty : x * penalty;
    }

    private void Record(int id, float raw)
    {
        if (_changedCount == _changedIds.Length)
        {
            Array.Resize(ref _changedIds, _changedCount * 2);
            Array.Resize(ref _changedRaw, _changedCount * 2);
        }
        _changedIds[_changedCount] = id;
        _changedRaw[_changedCount] = raw;
        _changedCount++;
    }

    // The first record of a token holds its value before any processor touched it.
    private float RawValue(ReadOnlySpan<float> row, int token)
    {
        for (int i = 0; i < _changedCount; i++)
            if (_changedIds[i] == token) return _changedRaw[i];
        return row[token];
    }
}
