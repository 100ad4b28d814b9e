namespace VllmSharp.Core.Config;

/// <summary>Scheduling limits and policy (vLLM's SchedulerConfig); flags map 1:1.</summary>
public sealed record SchedulerConfig
{
    /// <summary>--max-num-seqs: sequences running at once.</summary>
    public int MaxNumSeqs { get; init; } = 256;
    /// <summary>--max-num-batched-tokens: tokens computed in one step (the chunked-prefill budget).</summary>
    public int MaxNumBatchedTokens { get; init; } = 2048;
    /// <summary>--max-model-len: prompt plus output tokens of one sequence.</summary>
    public required int MaxModelLen { get; init; }
    /// <summary>--enable-chunked-prefill: split prompts longer than the step budget over several steps.</summary>
    public bool EnableChunkedPrefill { get; init; } = true;
    /// <summary>--scheduling-policy: fcfs or priority.</summary>
    public SchedulingPolicy Policy { get; init; } = SchedulingPolicy.Fcfs;

    public void Validate()
    {
        if (MaxNumSeqs < 1) throw new ArgumentException($"--max-num-seqs must be at least 1, got {MaxNumSeqs}.");
        if (MaxNumBatchedTokens < 1) throw new ArgumentException($"--max-num-batched-tokens must be at least 1, got {MaxNumBatchedTokens}.");
        if (MaxModelLen < 2) throw new ArgumentException($"--max-model-len must be at least 2, got {MaxModelLen}.");
        if (!EnableChunkedPrefill && MaxNumBatchedTokens < MaxModelLen)
            throw new ArgumentException($"--max-num-batched-tokens ({MaxNumBatchedTokens}) must be at least --max-model-len ({MaxModelLen}) when chunked prefill is disabled.");
    }
}

public enum SchedulingPolicy
{
    /// <summary>First come, first served.</summary>
    Fcfs,
    /// <summary>Lowest <c>priority</c> value first, then arrival time; preemption picks the opposite end.</summary>
    Priority,
}
