namespace VllmSharp.Core.Config;

/// <summary>
/// Everything that configures an engine, one property per vLLM flag with vLLM's defaults
/// (<c>--max-num-seqs</c> → <see cref="MaxNumSeqs"/>, …). The CLI and the offline <c>LLM</c> both build one.
/// </summary>
public sealed record EngineArgs
{
    /// <summary>HF model folder; null uses the built-in default model.</summary>
    public string? Model { get; init; }
    public string Dtype { get; init; } = "auto";
    public string LoadFormat { get; init; } = "auto";
    public int Seed { get; init; }
    /// <summary>null: the model's max_position_embeddings.</summary>
    public int? MaxModelLen { get; init; }
    public int BlockSize { get; init; } = 16;
    public bool EnablePrefixCaching { get; init; } = true;
    public bool EnableChunkedPrefill { get; init; } = true;
    public int MaxNumSeqs { get; init; } = 256;
    /// <summary>null: 2048 with chunked prefill, else max_model_len.</summary>
    public int? MaxNumBatchedTokens { get; init; }
    /// <summary>CPU KV cache budget, e.g. "4GiB"; null: a share of available memory (see KVCacheBudget).</summary>
    public string? KvCacheMemory { get; init; }
    public SchedulingPolicy SchedulingPolicy { get; init; } = SchedulingPolicy.Fcfs;

    public SchedulerConfig ToSchedulerConfig(int maxModelLen) => new()
    {
        MaxModelLen = maxModelLen,
        MaxNumSeqs = MaxNumSeqs,
        MaxNumBatchedTokens = MaxNumBatchedTokens ?? (EnableChunkedPrefill ? Math.Min(2048, maxModelLen) : maxModelLen),
        EnableChunkedPrefill = EnableChunkedPrefill,
        Policy = SchedulingPolicy,
    };
}
