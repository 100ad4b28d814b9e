using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;

namespace VllmSharp.Core.Tests.KVCache;

/// <summary>Builds requests for the KV cache tests.</summary>
internal static class TestRequests
{
    /// <summary>A request whose prompt is <paramref name="count"/> consecutive token ids from <paramref name="firstToken"/>.</summary>
    public static Request Make(string id, int firstToken, int count, int blockSize, SamplingParams? samplingParams = null) =>
        Make(id, Enumerable.Range(firstToken, count).ToArray(), blockSize, samplingParams);

    public static Request Make(string id, int[] prompt, int blockSize, SamplingParams? samplingParams = null) =>
        new(id, prompt, samplingParams ?? new SamplingParams(), maxTokens: 64, eosTokenIds: [], blockSize, arrivalTime: 0);

    /// <summary>The ids of <paramref name="blocks"/>, in order.</summary>
    public static int[] Ids(IReadOnlyList<VllmSharp.Core.KVCache.KVCacheBlock> blocks) => blocks.Select(b => b.BlockId).ToArray();
}
