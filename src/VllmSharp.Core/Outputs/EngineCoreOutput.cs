using VllmSharp.Core.Requests;

namespace VllmSharp.Core.Outputs;

/// <summary>
/// What the engine core reports for one request after a step (vLLM v1's EngineCoreOutput): the tokens sampled
/// this step and, when the core finished the request (EOS, a stop token id, max_tokens, abort), why.
/// Stop strings are found later, by the output processor, which then asks the core to abort.
/// </summary>
public sealed record EngineCoreOutput(
    string RequestId,
    IReadOnlyList<int> NewTokenIds,
    RequestStatus? FinishStatus = null,
    object? StopReason = null,
    double? NewTokenLogprob = null,
    int NumCachedTokens = 0)
{
    /// <summary>Log-probabilities of <see cref="NewTokenIds"/>, one per token, when the request asked for logprobs.</summary>
    public IReadOnlyList<PositionLogprobs>? NewLogprobs { get; init; }

    /// <summary>prompt_logprobs (one per prompt token, the first null), on the request's first output when asked for.</summary>
    public IReadOnlyList<PositionLogprobs?>? PromptLogprobs { get; init; }

    public bool Finished => FinishStatus is not null;
}
