namespace VllmSharp.Core.Outputs;

/// <summary>The state of one request as its caller sees it (vLLM's RequestOutput).</summary>
public sealed record RequestOutput
{
    public required string RequestId { get; init; }
    public string? Prompt { get; init; }
    public required IReadOnlyList<int> PromptTokenIds { get; init; }
    public required IReadOnlyList<CompletionOutput> Outputs { get; init; }
    public required bool Finished { get; init; }
    public required RequestMetrics Metrics { get; init; }
    /// <summary>Prompt tokens served from the prefix cache.</summary>
    public int NumCachedTokens { get; init; }
    /// <summary>vLLM's prompt_logprobs: one entry per prompt token, the first null (null unless asked for).</summary>
    public IReadOnlyList<PositionLogprobs?>? PromptLogprobs { get; init; }
}
