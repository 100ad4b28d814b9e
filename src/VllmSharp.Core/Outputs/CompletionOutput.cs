namespace VllmSharp.Core.Outputs;

/// <summary>One completion of a request (vLLM's CompletionOutput); a request with n &gt; 1 has n of them.</summary>
public sealed record CompletionOutput
{
    public required int Index { get; init; }
    public required string Text { get; init; }
    public required IReadOnlyList<int> TokenIds { get; init; }
    /// <summary>Sum of the sampled tokens' log-probabilities (null unless logprobs were asked for).</summary>
    public double? CumulativeLogprob { get; init; }
    /// <summary>
    /// Log-probabilities of <see cref="TokenIds"/>, one per token (null unless logprobs were asked for); a delta output
    /// carries only the new tokens' ones, like its token ids.
    /// </summary>
    public IReadOnlyList<PositionLogprobs>? Logprobs { get; init; }
    /// <summary>"stop", "length", "abort", or null while still generating.</summary>
    public string? FinishReason { get; init; }
    /// <summary>The stop string or stop token id that ended the completion, when one did.</summary>
    public object? StopReason { get; init; }

    public bool Finished => FinishReason is not null;
}
