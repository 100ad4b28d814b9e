namespace VllmSharp.Core.Scheduling;

/// <summary>
/// The model runner's result for one step, aligned with <see cref="SchedulerOutput.ScheduledRequests"/>: the
/// token sampled for each request (-1 where the step did not reach its last token, e.g. a prefill chunk) and
/// that token's log-probability under the raw logits.
/// </summary>
public sealed record ModelRunnerOutput(int[] SampledTokenIds, float[] SampledLogprobs);
