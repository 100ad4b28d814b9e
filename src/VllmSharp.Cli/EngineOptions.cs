using System.CommandLine;
using VllmSharp.Core.Config;

namespace VllmSharp.Cli;

/// <summary>vLLM's engine flags (names and defaults as <c>vllm serve</c>), bound to one <see cref="EngineArgs"/>.</summary>
public sealed class EngineOptions
{
    public ModelOptions Model { get; } = new();
    public Option<int?> MaxModelLen { get; } = new("--max-model-len") { Description = "Prompt plus output tokens per sequence (default: the model's)." };
    public Option<int> BlockSize { get; } = new("--block-size") { Description = "Tokens per KV cache block.", DefaultValueFactory = _ => 16 };
    public Option<bool> EnablePrefixCaching { get; } = new("--enable-prefix-caching") { Description = "Reuse KV blocks of shared prompt prefixes.", DefaultValueFactory = _ => true };
    public Option<bool> EnableChunkedPrefill { get; } = new("--enable-chunked-prefill") { Description = "Split long prompts over steps.", DefaultValueFactory = _ => true };
    public Option<int> MaxNumSeqs { get; } = new("--max-num-seqs") { Description = "Sequences per step.", DefaultValueFactory = _ => 256 };
    public Option<int?> MaxNumBatchedTokens { get; } = new("--max-num-batched-tokens") { Description = "Tokens per step (default 2048 with chunked prefill)." };
    public Option<string?> KvCacheMemory { get; } = new("--kv-cache-memory") { Description = "KV cache budget on CPU, e.g. 4GiB (default: 25% of available memory, at most 4 GiB)." };
    public Option<string> SchedulingPolicy { get; } = new("--scheduling-policy") { Description = "fcfs or priority.", DefaultValueFactory = _ => "fcfs" };

    public void AddTo(Command command)
    {
        Model.AddTo(command);
        foreach (Option option in new Option[] { MaxModelLen, BlockSize, EnablePrefixCaching, EnableChunkedPrefill, MaxNumSeqs, MaxNumBatchedTokens, KvCacheMemory, SchedulingPolicy })
            command.Options.Add(option);
        SchedulingPolicy.AcceptOnlyFromAmong("fcfs", "priority");
    }

    public EngineArgs Bind(ParseResult parse) => new()
    {
        Model = Model.ResolveModel(parse),
        Dtype = parse.GetValue(Model.DType)!,
        LoadFormat = parse.GetValue(Model.LoadFormat)!,
        Seed = parse.GetValue(Model.Seed),
        MaxModelLen = parse.GetValue(MaxModelLen),
        BlockSize = parse.GetValue(BlockSize),
        EnablePrefixCaching = parse.GetValue(EnablePrefixCaching),
        EnableChunkedPrefill = parse.GetValue(EnableChunkedPrefill),
        MaxNumSeqs = parse.GetValue(MaxNumSeqs),
        MaxNumBatchedTokens = parse.GetValue(MaxNumBatchedTokens),
        KvCacheMemory = parse.GetValue(KvCacheMemory),
        SchedulingPolicy = parse.GetValue(SchedulingPolicy) == "priority" ? Core.Config.SchedulingPolicy.Priority : Core.Config.SchedulingPolicy.Fcfs,
    };
}
