using VllmSharp.Core.Requests;

namespace VllmSharp.Core.KVCache;

/// <summary>
/// Per-request block tables over one <see cref="BlockPool"/>, with prefix caching — vLLM v1's
/// <c>KVCacheManager</c> for a single full-attention KV cache group. The scheduler asks
/// <see cref="GetComputedBlocks"/> once when a request is first scheduled, <see cref="AllocateSlots"/> every step
/// the request computes tokens, and <see cref="Free"/> when it finishes or is preempted.
/// </summary>
public sealed class KVCacheManager
{
    private readonly BlockPool _pool;
    private readonly Dictionary<string, RequestBlocks> _requests = [];

    public KVCacheManager(int numBlocks, int blockSize, bool enablePrefixCaching)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        BlockSize = blockSize;
        EnablePrefixCaching = enablePrefixCaching;
        _pool = new BlockPool(numBlocks, enablePrefixCaching);
    }

    public int BlockSize { get; }
    public bool EnablePrefixCaching { get; }
    public int NumBlocks => _pool.NumBlocks;
    public int NumFreeBlocks => _pool.NumFreeBlocks;
    public double Usage => _pool.Usage;
    public PrefixCacheStats Stats { get; } = new();
    /// <summary>The underlying pool (for tests and diagnostics).</summary>
    public BlockPool BlockPool => _pool;

    /// <summary>
    /// The longest run of cached full blocks at the start of the request's tokens, stopping at the first miss.
    /// The hit never covers the last token: at least one token must be computed to produce logits, so at most
    /// (NumTokens - 1) / BlockSize blocks can hit. For a fresh request NumTokens is the prompt length; a preempted
    /// request also re-hits the blocks of its earlier output (as vLLM). Empty when prefix caching is off or the
    /// request asked for prompt logprobs (those need every prompt position computed).
    /// </summary>
    public (IReadOnlyList<KVCacheBlock> Blocks, int NumComputedTokens) GetComputedBlocks(Request request)
    {
        if (!EnablePrefixCaching || request.SamplingParams.PromptLogprobs is not null) return ([], 0);

        int maxBlocks = Math.Min((request.NumTokens - 1) / BlockSize, request.BlockHashes.Count);
        IReadOnlyList<BlockHash> hashes = request.BlockHashes;
        int hits = 0;
        while (hits < maxBlocks && _pool.GetCachedBlock(hashes[hits]) is not null) hits++;

        IReadOnlyList<KVCacheBlock> blocks = [];
        if (hits > 0)
        {
            var found = new KVCacheBlock[hits];
            for (int i = 0; i < hits; i++) found[i] = _pool.GetCachedBlock(hashes[i])!;
            blocks = found;
        }
        int numComputedTokens = hits * BlockSize;
        Stats.Record(request.NumTokens, numComputedTokens, preempted: request.NumPreemptions > 0);
        return (blocks, numComputedTokens);
    }

    /// <summary>
    /// Makes room for request.NumComputedTokens + <paramref name="numNewComputedTokens"/> +
    /// <paramref name="numNewTokens"/> (+ <paramref name="numLookaheadTokens"/> speculative) tokens. Takes the
    /// prefix-cache hits <paramref name="newComputedBlocks"/> (only on the request's first allocation) and
    /// allocates the blocks still missing; returns those new blocks, or null — with nothing changed — when the
    /// pool cannot supply them. Then enters in the prefix cache the blocks that are full once this step's tokens
    /// are computed. Pass hits straight from <see cref="GetComputedBlocks"/> with no allocation in between (an
    /// allocation may evict them); stale hits throw.
    /// </summary>
    public IReadOnlyList<KVCacheBlock>? AllocateSlots(Request request, int numNewTokens, int numNewComputedTokens = 0,
        IReadOnlyList<KVCacheBlock>? newComputedBlocks = null, int numLookaheadTokens = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numNewTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(numNewComputedTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(numLookaheadTokens);
        newComputedBlocks ??= [];
        if (!EnablePrefixCaching && newComputedBlocks.Count > 0)
            throw new InvalidOperationException("Prefix-cache hits were passed while prefix caching is disabled.");

        _requests.TryGetValue(request.RequestId, out RequestBlocks? state);
        int numExisting = state?.Blocks.Count ?? 0;
        if (state is not null && newComputedBlocks.Count > 0)
            throw new InvalidOperationException($"Request {request.RequestId} already has blocks; prefix hits are only taken on its first allocation.");

        int numComputedTokens = request.NumComputedTokens + numNewComputedTokens;
        int numTokensNeedingSlots = numComputedTokens + numNewTokens + numLookaheadTokens;
        int numRequiredBlocks = (numTokensNeedingSlots + BlockSize - 1) / BlockSize;
        int numNewBlocks = Math.Max(0, numRequiredBlocks - newComputedBlocks.Count - numExisting);
        // A hit on a free block takes it out of the free queue, so it costs a free block just like a new one.
        int numEvictableHits = 0;
        for (int i = 0; i < newComputedBlocks.Count; i++)
        {
            KVCacheBlock hit = newComputedBlocks[i];
            // Hits go stale if another allocation evicted them after the lookup; using one would read foreign K/V.
            if (i >= request.BlockHashes.Count || hit.Hash != request.BlockHashes[i])
                throw new InvalidOperationException(
                    $"Prefix-cache hit {i} of request {request.RequestId} (block {hit.BlockId}) no longer holds that prefix; call GetComputedBlocks right before AllocateSlots.");
            if (hit.RefCount == 0) numEvictableHits++;
        }
        if (numNewBlocks + numEvictableHits > _pool.NumFreeBlocks) return null;

        if (state is null)
        {
            state = new RequestBlocks();
            _requests.Add(request.RequestId, state);
        }
        if (newComputedBlocks.Count > 0)
        {
            _pool.Touch(newComputedBlocks);
            state.Blocks.AddRange(newComputedBlocks);
            state.NumCachedBlocks = newComputedBlocks.Count;
        }

        IReadOnlyList<KVCacheBlock> newBlocks = _pool.GetNewBlocks(numNewBlocks);
        for (int i = 0; i < newBlocks.Count; i++) state.Blocks.Add(newBlocks[i]);

        if (EnablePrefixCaching)
        {
            // Speculative tokens may be rejected, and tokens not yet appended to the request have no hash yet:
            // only blocks whose every token is known and computed by the end of this step are cached.
            int numTokensToCache = Math.Min(numComputedTokens + numNewTokens, request.NumTokens);
            int numFullBlocks = numTokensToCache / BlockSize;
            if (numFullBlocks > state.NumCachedBlocks)
            {
                _pool.CacheFullBlocks(request, state.Blocks, state.NumCachedBlocks, numFullBlocks);
                state.NumCachedBlocks = numFullBlocks;
            }
        }
        return newBlocks;
    }

    /// <summary>
    /// Releases the request's blocks, last block first so its tail is evicted before its (more shareable)
    /// prefix, and forgets the request. Calling it again, or for an unknown request, does nothing.
    /// </summary>
    public void Free(Request request)
    {
        if (!_requests.Remove(request.RequestId, out RequestBlocks? state)) return;
        List<KVCacheBlock> blocks = state.Blocks;
        for (int i = blocks.Count - 1; i >= 0; i--) _pool.FreeBlock(blocks[i]);
    }

    /// <summary>The request's block table (block ids in token order); empty for an unknown request.</summary>
    public IReadOnlyList<int> GetBlockIds(string requestId)
    {
        if (!_requests.TryGetValue(requestId, out RequestBlocks? state)) return [];
        var ids = new int[state.Blocks.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = state.Blocks[i].BlockId;
        return ids;
    }

    /// <summary>The request's blocks in token order (no copy); empty for an unknown request.</summary>
    public IReadOnlyList<KVCacheBlock> GetBlocks(string requestId) =>
        _requests.TryGetValue(requestId, out RequestBlocks? state) ? state.Blocks : [];

    /// <summary>Drops every cached hash; refused (false) while any block is in use.</summary>
    public bool ResetPrefixCache() => _pool.ResetPrefixCache();

    private sealed class RequestBlocks
    {
        public List<KVCacheBlock> Blocks { get; } = [];
        /// <summary>Leading blocks already entered in the prefix cache (hits included).</summary>
        public int NumCachedBlocks { get; set; }
    }
}
