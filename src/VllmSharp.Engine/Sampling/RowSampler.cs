using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Kernels;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// Samples one row with its own scratch (one instance per thread that samples). Order as vLLM v1: raw log-softmax
/// statistics (and top logprobs, <see cref="TopLogprobs"/>), min_tokens, allowed_token_ids / bad_words / logit_bias
/// (<see cref="LogitsProcessors"/>), repetition/frequency/presence penalties, then greedy arg max, or temperature, min_p,
/// top_k, top_p and one inverse-CDF draw from the request's generator.
/// </summary>
/// <remarks>
/// Penalised logits are written back into the row (they only touch tokens the request has seen); temperature and
/// the truncations work on _probs, unnormalised probabilities q = exp((logit − max) / T) with q = 1 at
/// the maximum. Top-k/top-p never sort the vocabulary: for top-k a few counting passes find a threshold with at
/// least k tokens above it and only those go through a quickselect; top-p alone brackets its cut between two
/// thresholds (<see cref="SampleNucleus"/>) and selects only inside the bracket.
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
    private float[]? _raw; // the row before any processor, for requests that need it (allocated on first use)

    public RowSampler(int vocabSize)
    {
        _vocabSize = vocabSize;
        _probs = new float[vocabSize];
        _keys = new ulong[vocabSize];
    }

    public void Sample(Span<float> row, SamplingState state, out int token, out float logprob)
    {
        // As vLLM applies the grammar bitmask to the logits before its sampler: the logprobs see the masked row.
        if (state.AllowedTokenMask is { } allowed) AllowedTokenMask.Apply(row, allowed);
        float rawMax = SamplingSimd.Max(row);
        double rawLogSum = Math.Log(SamplingSimd.SumExp(row, rawMax));

        // Logprobs and the logits processors need the raw row after it changed: keep a copy only for such requests.
        bool keepRaw = state.Processors is not null || state.Params.Logprobs is not null;
        if (keepRaw) row.CopyTo(_raw ??= new float[_vocabSize]);
        _changedCount = 0;
        ApplyMinTokens(row, state);
        state.Processors?.Apply(row);
        ApplyPenalties(row, state);
        bool untouched = _changedCount == 0 && state.Processors is null;

        if (state.Params.IsGreedy)
        {
            // Untouched row: the maximum is known, one search finds its first occurrence (NaN rows fall through).
            token = untouched ? SamplingSimd.IndexOf(row, rawMax) : -1;
            if (token < 0) token = ArgMax.Find(row);
        }
        else
        {
            float max = untouched ? rawMax : SamplingSimd.Max(row);
            // Everything masked (e.g. min_tokens over a vocabulary of stop ids): nothing to draw from.
            token = float.IsNegativeInfinity(max) ? ArgMax.Find(row) : SampleRandom(row, state, max);
        }
        logprob = (float)((keepRaw ? _raw![token] : RawValue(row, token)) - rawMax - rawLogSum);
        if (state.Params.Logprobs is int k) state.SampledLogprobs = TopLogprobs.Collect(_raw!, token, k, rawMax, rawLogSum);
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
        if (k == 0) return topP >= 1 ? SamplingSimd.InverseCdf(q, 0, u * total) : SampleNucleus(q, total, topP, u);

        // Top-k first (top-p then runs inside the top-k set): find a level with at least k tokens above it.
        float threshold = float.Epsilon;
        foreach (float level in s_levels)
        {
            if (SamplingSimd.CountAtLeast(q, level).Count >= k)
            {
                threshold = level;
                break;
            }
        }
        Span<ulong> keys = _keys.AsSpan(0, SamplingSimd.Gather(q, threshold, _keys));
        int n = keys.Length;
        if (k < n)
        {
            CandidateSelect.SmallestByCount(keys, k);
            n = k;
        }
        if (topP < 1)
        {
            // After top-k vLLM renormalises over the survivors, so the nucleus is a fraction of their mass.
            n = CandidateSelect.SmallestByMass(keys[..n], topP * CandidateSelect.Mass(keys[..n]));
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

    /// <summary>
    /// Top-p alone. Brackets the nucleus' smallest probability between two thresholds (a coarse pass over 2⁰…2⁻²³,
    /// eight powers of two at a time, then eight geometric steps inside the bracket): tokens above the bracket are
    /// kept outright and only the few inside it are gathered and selected. A flat distribution (thousands of tokens in
    /// the nucleus) then costs a handful of vector passes instead of gathering the whole nucleus.
    /// </summary>
    private int SampleNucleus(ReadOnlySpan<float> q, double total, double topP, double u)
    {
        double target = topP * total;
        Span<float> levels = stackalloc float[8];
        Span<double> masses = stackalloc double[8];
        float above = float.PositiveInfinity, lowest = float.Epsilon; // nucleus cut lies in [lowest, above)
        double massAbove = 0;                                          // mass of q ≥ above, below the target
        bool found = false;
        for (int group = 0; group < 3 && !found; group++)
        {
            for (int l = 0; l < 8; l++) levels[l] = MathF.ScaleB(1f, -(group * 8 + l));
            found = Narrow(q, levels, masses, target, ref above, ref massAbove, ref lowest);
        }
        if (!float.IsPositiveInfinity(above))
        {
            for (int l = 0; l < 7; l++) levels[l] = (float)(above * Math.Pow(lowest / (double)above, (l + 1) / 8.0));
            levels[7] = lowest;
            Narrow(q, levels, masses, target, ref above, ref massAbove, ref lowest);
        }

        Span<ulong> keys = _keys.AsSpan(0, SamplingSimd.Gather(q, lowest, above, _keys));
        keys = keys[..CandidateSelect.SmallestByMass(keys, target - massAbove)];
        double draw = u * (massAbove + CandidateSelect.Mass(keys));
        if (draw < massAbove) return SamplingSimd.InverseCdf(q, above, draw);
        draw -= massAbove;
        double running = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            running += SamplingSimd.KeyValue(keys[i]);
            if (running > draw) return SamplingSimd.KeyIndex(keys[i]);
        }
        return SamplingSimd.KeyIndex(keys[^1]);
    }

    // Walks descending levels: each one whose mass is short of the target lowers the bracket's top to it; the first
    // that reaches the target becomes the bracket's bottom. Returns whether one did.
    private static bool Narrow(ReadOnlySpan<float> q, Span<float> levels, Span<double> masses, double target,
        ref float above, ref double massAbove, ref float lowest)
    {
        SamplingSimd.MassAtLeast(q, levels, masses);
        for (int l = 0; l < levels.Length; l++)
        {
            if (masses[l] >= target)
            {
                lowest = levels[l];
                return true;
            }
            above = levels[l];
            massAbove = masses[l];
        }
        return false;
    }

    // Disallowed tokens get −∞; whole words of disallowed tokens are filled at once.
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
