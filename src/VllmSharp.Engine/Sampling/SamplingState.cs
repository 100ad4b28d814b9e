using VllmSharp.Core.Sampling;
using VllmSharp.Engine.StructuredOutput;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// One request's sampling state inside the model runner: its parameters, the token history the penalties look
/// at, and its own random generator. Created when the request enters the runner, dropped when it leaves.
/// </summary>
/// <remarks>
/// Penalties only touch tokens the request has seen, so the history is kept as distinct id lists (prompt ids
/// sorted for lookup, output ids with counts) instead of vocabulary-wide masks: applying them costs
/// O(distinct tokens), not O(vocabulary).
/// </remarks>
public sealed class SamplingState
{
    private readonly int[] _promptTokens;          // distinct, ascending
    private readonly int[] _minTokensMaskIds;      // stop_token_ids ∪ EOS (unless ignore_eos), distinct
    private readonly Dictionary<int, int> _outputCounts = [];
    private readonly List<int> _outputDistinct = [];
    private Xoshiro256StarStar _generator;

    /// <param name="p">Validated parameters.</param>
    /// <param name="promptTokenIds">The prompt, for the repetition penalty.</param>
    /// <param name="eosTokenIds">The model's end-of-sequence ids, masked while min_tokens is unmet.</param>
    /// <param name="fallbackSeed">Seeds the generator when <see cref="SamplingParams.Seed"/> is null (drawn from the engine's --seed).</param>
    public SamplingState(SamplingParams p, IReadOnlyList<int> promptTokenIds, IReadOnlyCollection<int> eosTokenIds, long fallbackSeed)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(promptTokenIds);
        ArgumentNullException.ThrowIfNull(eosTokenIds);
        Params = p;
        _generator = new Xoshiro256StarStar(p.Seed ?? fallbackSeed);

        var prompt = new SortedSet<int>();
        if (p.RepetitionPenalty != 1.0)
            for (int i = 0; i < promptTokenIds.Count; i++) prompt.Add(promptTokenIds[i]);
        _promptTokens = [.. prompt];

        var mask = new SortedSet<int>(p.StopTokenIds);
        if (!p.IgnoreEos) mask.UnionWith(eosTokenIds);
        _minTokensMaskIds = [.. mask];
    }

    public SamplingParams Params { get; }

    /// <summary>Tokens generated so far (each <see cref="AppendOutputToken"/> call counts one).</summary>
    public int NumOutputTokens { get; private set; }

    internal bool HasPenalties =>
        Params.RepetitionPenalty != 1.0 || Params.FrequencyPenalty != 0 || Params.PresencePenalty != 0;

    internal bool MinTokensActive => NumOutputTokens < Params.MinTokens && _minTokensMaskIds.Length > 0;

    internal ReadOnlySpan<int> PromptTokens => _promptTokens;

    internal ReadOnlySpan<int> MinTokensMaskIds => _minTokensMaskIds;

    internal List<int> OutputDistinct => _outputDistinct;

    internal Dictionary<int, int> OutputCounts => _outputCounts;

    internal ref Xoshiro256StarStar Generator => ref _generator;

    /// <summary>The request's structured-output matcher, or null when its output is unconstrained.</summary>
    internal StructuredOutputMatcher? StructuredOutput { get; set; }

    /// <summary>
    /// Tokens allowed this step (bit i of word i/64 = token i; ids past the mask are disallowed), set by the model
    /// runner from <see cref="StructuredOutput"/> before sampling; null leaves the row untouched.
    /// </summary>
    internal ulong[]? AllowedTokenMask { get; set; }

    /// <summary>The request's logit_bias / allowed_token_ids / bad_words, or null when it has none (set by the model runner).</summary>
    internal LogitsProcessors? Processors { get; set; }

    /// <summary>The last sampled token's logprobs, written by the sampler when the request asked for logprobs.</summary>
    internal VllmSharp.Core.Outputs.PositionLogprobs? SampledLogprobs { get; set; }

    /// <summary>prompt_logprobs collected so far (entry 0, the first prompt token, is null); handed on with the first token.</summary>
    internal List<VllmSharp.Core.Outputs.PositionLogprobs?>? PromptLogprobs { get; set; }

    /// <summary>Records a generated token for the penalties and for min_tokens.</summary>
    public void AppendOutputToken(int tokenId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokenId);
        NumOutputTokens++;
        Processors?.Append(tokenId);
        if (_outputCounts.TryGetValue(tokenId, out int count))
        {
            _outputCounts[tokenId] = count + 1;
        }
        else
        {
            _outputCounts[tokenId] = 1;
            _outputDistinct.Add(tokenId);
        }
    }

    internal bool PromptContains(int tokenId) => Array.BinarySearch(_promptTokens, tokenId) >= 0;
}
