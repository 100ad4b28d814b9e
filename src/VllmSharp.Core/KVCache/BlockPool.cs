using VllmSharp.Core.Requests;

namespace VllmSharp.Core.KVCache;

/// <summary>
/// Every KV block of the cache, the free queue and the prefix-cache map from content hash to block (vLLM v1's
/// <c>BlockPool</c>). A block is either used (RefCount &gt; 0, not queued) or free (RefCount 0, queued); a free
/// block may still carry a hash and be found by <see cref="GetCachedBlock"/> until it is popped for new use.
/// Single-threaded: the engine core's loop is its only caller.
/// </summary>
public sealed class BlockPool
{
    private readonly KVCacheBlock[] _blocks;
    private readonly FreeBlockQueue _freeQueue;
    // One entry per hash. When two blocks come to hold the same content (two requests computed the same prefix
    // in the same step), the first keeps the entry; the second still carries its hash so eviction can tell it
    // is not the mapped one.
    private readonly Dictionary<BlockHash, KVCacheBlock> _cachedBlocks = [];

    public BlockPool(int numBlocks, bool enablePrefixCaching)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numBlocks);
        EnablePrefixCaching = enablePrefixCaching;
        _blocks = new KVCacheBlock[numBlocks];
        for (int i = 0; i < numBlocks; i++) _blocks[i] = new KVCacheBlock(i);
        _freeQueue = new FreeBlockQueue(_blocks);
    }

    public bool EnablePrefixCaching { get; }
    public int NumBlocks => _blocks.Length;
    public int NumFreeBlocks => _freeQueue.NumFreeBlocks;
    /// <summary>Fraction of blocks in use (cached-but-free blocks count as free, as in vLLM).</summary>
    public double Usage => 1.0 - (double)_freeQueue.NumFreeBlocks / _blocks.Length;

    /// <summary>The block with id <paramref name="blockId"/>.</summary>
    public KVCacheBlock this[int blockId] => _blocks[blockId];

    /// <summary>Free blocks from least to most recently freed (for tests and diagnostics).</summary>
    public IEnumerable<KVCacheBlock> FreeBlocksInEvictionOrder => _freeQueue.Blocks;

    /// <summary>
    /// Takes <paramref name="count"/> blocks off the head of the free queue (least recently used first) with
    /// RefCount 1; a block that still carries a hash is evicted from the prefix cache first.
    /// </summary>
    public IReadOnlyList<KVCacheBlock> GetNewBlocks(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _freeQueue.NumFreeBlocks)
            throw new InvalidOperationException($"Cannot get {count} new blocks: only {_freeQueue.NumFreeBlocks} are free.");
        if (count == 0) return [];
        var result = new KVCacheBlock[count];
        for (int i = 0; i < count; i++)
        {
            KVCacheBlock block = _freeQueue.PopLeft();
            EvictIfCached(block);
            block.RefCount = 1;
            result[i] = block;
        }
        return result;
    }

    /// <summary>The cached block holding the content of <paramref name="hash"/>, or null on a miss.</summary>
    public KVCacheBlock? GetCachedBlock(BlockHash hash) =>
        _cachedBlocks.TryGetValue(hash, out KVCacheBlock? block) ? block : null;

    /// <summary>
    /// Records prefix-cache hits: each block gains a reference, and one that was free leaves the free queue so it
    /// cannot be evicted while the hitting request uses it.
    /// </summary>
    public void Touch(IReadOnlyList<KVCacheBlock> blocks)
    {
        for (int i = 0; i < blocks.Count; i++)
        {
            KVCacheBlock block = blocks[i];
            if (block.RefCount == 0) _freeQueue.Remove(block);
            block.RefCount++;
        }
    }

    /// <summary>
    /// Gives blocks [<paramref name="numCachedBlocks"/>, <paramref name="numFullBlocks"/>) of
    /// <paramref name="blocks"/> the hashes of the request's blocks at the same positions and enters them in the
    /// prefix cache. No-op when prefix caching is off.
    /// </summary>
    public void CacheFullBlocks(Request request, IReadOnlyList<KVCacheBlock> blocks, int numCachedBlocks, int numFullBlocks)
    {
        if (!EnablePrefixCaching || numCachedBlocks >= numFullBlocks) return;
        if (numFullBlocks > blocks.Count || numFullBlocks > request.BlockHashes.Count)
            throw new ArgumentOutOfRangeException(nameof(numFullBlocks),
                $"Request {request.RequestId} has {blocks.Count} blocks and {request.BlockHashes.Count} block hashes; cannot cache {numFullBlocks} full blocks.");
        IReadOnlyList<BlockHash> hashes = request.BlockHashes;
        for (int i = numCachedBlocks; i < numFullBlocks; i++)
        {
            KVCacheBlock block = blocks[i];
            // A hashed block here would mean the caller's count of cached blocks is wrong; caching it again would
            // silently point the map at stale content.
            if (block.Hash is not null)
                throw new InvalidOperationException($"Block {block.BlockId} (position {i} of request {request.RequestId}) is already cached.");
            BlockHash hash = hashes[i];
            block.Hash = hash;
            _cachedBlocks.TryAdd(hash, block);
        }
    }

    /// <summary>
    /// Drops one reference from each block; those reaching zero join the free queue's tail in the given order, so
    /// the first of <paramref name="orderedBlocks"/> is evicted first. Callers pass a request's blocks in reverse:
    /// its tail blocks are the least likely to be shared by another prompt.
    /// </summary>
    public void FreeBlocks(IEnumerable<KVCacheBlock> orderedBlocks)
    {
        foreach (KVCacheBlock block in orderedBlocks) FreeBlock(block);
    }

    /// <summary>One step of <see cref="FreeBlocks"/> without an enumerator, for callers walking their own list.</summary>
    internal void FreeBlock(KVCacheBlock block)
    {
        if (block.RefCount <= 0) throw new InvalidOperationException($"Block {block.BlockId} is freed more often than it was taken.");
        block.RefCount--;
        if (block.RefCount == 0) _freeQueue.Append(block);
    }

    /// <summary>
    /// Forgets every cached hash (e.g. after weights change). Refused (false) while any block is in use, because
    /// a running request's blocks would lose their identity mid-flight.
    /// </summary>
    public bool ResetPrefixCache()
    {
        if (_freeQueue.NumFreeBlocks != _blocks.Length) return false;
        _cachedBlocks.Clear();
        foreach (KVCacheBlock block in _blocks) block.Hash = null;
        return true;
    }

    private void EvictIfCached(KVCacheBlock block)
    {
        if (block.Hash is not BlockHash hash) return;
        // Only the mapped holder of a hash removes the entry; a duplicate holder leaves the original findable.
        if (_cachedBlocks.TryGetValue(hash, out KVCacheBlock? mapped) && ReferenceEquals(mapped, block))
            _cachedBlocks.Remove(hash);
        block.Hash = null;
    }
}
