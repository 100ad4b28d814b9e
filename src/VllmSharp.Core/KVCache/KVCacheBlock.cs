namespace VllmSharp.Core.KVCache;

/// <summary>
/// One fixed-size page of KV cache (vLLM v1's <c>KVCacheBlock</c>). The block owns no memory itself: its
/// <see cref="BlockId"/> indexes the runtime's KV tensors. <see cref="RefCount"/> counts the requests whose block
/// tables hold it; <see cref="Hash"/> is set once the block is full and entered in the prefix cache, and stays set
/// while the block sits free so a later request can still hit it until it is evicted.
/// </summary>
public sealed class KVCacheBlock
{
    public KVCacheBlock(int blockId) => BlockId = blockId;

    public int BlockId { get; }

    /// <summary>Requests currently using this block; 0 means the block is in the free queue.</summary>
    public int RefCount { get; internal set; }

    /// <summary>The content hash when the block is full and cached; null otherwise.</summary>
    public BlockHash? Hash { get; internal set; }

    // Intrusive links of FreeBlockQueue: keeping them on the block makes removal from the middle O(1) with no
    // node allocation. Both are null while the block is not in a queue.
    internal KVCacheBlock? PrevFree { get; set; }
    internal KVCacheBlock? NextFree { get; set; }

    public override string ToString() => $"Block {BlockId} (ref {RefCount}{(Hash is null ? "" : ", cached")})";
}
