namespace VllmSharp.Core.Scheduling;

/// <summary>
/// The model runner's result for one step, aligned with <see cref="SchedulerOutput.ScheduledRequests"/>: the
/// token sampled for each request (-1 where the step did not reach its last token, e.g. a prefill chunk) and
/// that token's log-probability under the raw logits.
/// </summary>
public sealed record ModelRunnerOutput(int[] SampledTokenIds, float[] SampledLogprobs)
{
    /// <summary>Per scheduled request, the sampled token's top logprobs when it asked for them (null: none asked this step).</summary>
    public Outputs.PositionLogprobs?[]? Logprobs { get; init; }
    /// <summary>Per scheduled request, its prompt_logprobs, given with its first sampled token (null: none this step).</summary>
    public IReadOnlyList<Outputs.PositionLogprobs?>?[]? PromptLogprobs { get; init; }
}
