namespace VllmSharp.Core.KVCache;

/// <summary>
/// The free blocks in eviction order, least recently used at the head (vLLM's <c>FreeKVCacheBlockQueue</c>).
/// A doubly linked list threaded through the blocks themselves, between two sentinel blocks, so that popping the
/// head, appending at the tail and removing a block from the middle (a prefix-cache hit on a free block) are all
/// O(1) and allocate nothing.
/// </summary>
public sealed class FreeBlockQueue
{
    // Sentinels remove every "is this the first/last node" branch from the link updates.
    private readonly KVCacheBlock _head = new(-1);
    private readonly KVCacheBlock _tail = new(-1);

    /// <summary>Queues <paramref name="blocks"/> in the given order (all must be free and unlinked).</summary>
    public FreeBlockQueue(IReadOnlyList<KVCacheBlock> blocks)
    {
        _head.NextFree = _tail;
        _tail.PrevFree = _head;
        for (int i = 0; i < blocks.Count; i++) Append(blocks[i]);
    }

    public int NumFreeBlocks { get; private set; }

    /// <summary>Takes the least recently used block off the head.</summary>
    public KVCacheBlock PopLeft()
    {
        KVCacheBlock first = _head.NextFree!;
        if (ReferenceEquals(first, _tail)) throw new InvalidOperationException("No free blocks are left in the queue.");
        Unlink(first);
        return first;
    }

    /// <summary>Takes <paramref name="block"/> out of the queue wherever it is.</summary>
    public void Remove(KVCacheBlock block)
    {
        if (block.PrevFree is null || block.NextFree is null)
            throw new InvalidOperationException($"Block {block.BlockId} is not in the free queue.");
        Unlink(block);
    }

    /// <summary>Puts <paramref name="block"/> at the tail: it becomes the last to be evicted.</summary>
    public void Append(KVCacheBlock block)
    {
        if (block.PrevFree is not null || block.NextFree is not null)
            throw new InvalidOperationException($"Block {block.BlockId} is already in the free queue.");
        KVCacheBlock last = _tail.PrevFree!;
        last.NextFree = block;
        block.PrevFree = last;
        block.NextFree = _tail;
        _tail.PrevFree = block;
        NumFreeBlocks++;
    }

    /// <summary>The queued blocks from head to tail (allocates an enumerator; for tests and diagnostics).</summary>
    public IEnumerable<KVCacheBlock> Blocks
    {
        get
        {
            for (KVCacheBlock block = _head.NextFree!; !ReferenceEquals(block, _tail); block = block.NextFree!)
                yield return block;
        }
    }

    private void Unlink(KVCacheBlock block)
    {
        block.PrevFree!.NextFree = block.NextFree;
        block.NextFree!.PrevFree = block.PrevFree;
        block.PrevFree = null;
        block.NextFree = null;
        NumFreeBlocks--;
    }
}
