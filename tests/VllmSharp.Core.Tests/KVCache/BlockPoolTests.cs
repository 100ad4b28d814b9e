using VllmSharp.Core.KVCache;
using VllmSharp.Core.Requests;
using Xunit;

namespace VllmSharp.Core.Tests.KVCache;

public sealed class BlockPoolTests
{
    private const int BlockSize = 4;

    private static void AssertNoLeak(BlockPool pool)
    {
        Assert.Equal(pool.NumBlocks, pool.NumFreeBlocks);
        Assert.Equal(0.0, pool.Usage);
    }

    [Fact]
    public void GetNewBlocks_FreshPool_TakesLowestIdsWithRefCountOne()
    {
        var pool = new BlockPool(5, enablePrefixCaching: true);
        IReadOnlyList<KVCacheBlock> blocks = pool.GetNewBlocks(3);
        Assert.Equal([0, 1, 2], TestRequests.Ids(blocks));
        Assert.All(blocks, b => Assert.Equal(1, b.RefCount));
        Assert.Equal(2, pool.NumFreeBlocks);
        Assert.Equal(0.6, pool.Usage, 12);
        pool.FreeBlocks(blocks);
        AssertNoLeak(pool);
    }

    [Fact]
    public void GetNewBlocks_MoreThanFree_ThrowsAndChangesNothing()
    {
        var pool = new BlockPool(3, enablePrefixCaching: true);
        IReadOnlyList<KVCacheBlock> held = pool.GetNewBlocks(2);
        Assert.Throws<InvalidOperationException>(() => pool.GetNewBlocks(2));
        Assert.Equal(1, pool.NumFreeBlocks);
        pool.FreeBlocks(held);
        AssertNoLeak(pool);
    }

    [Fact]
    public void FreeBlocks_SharedBlock_StaysUsedUntilLastReference()
    {
        var pool = new BlockPool(2, enablePrefixCaching: true);
        KVCacheBlock block = pool.GetNewBlocks(1)[0];
        pool.Touch([block]);
        Assert.Equal(2, block.RefCount);
        pool.FreeBlocks([block]);
        Assert.Equal(1, block.RefCount);
        Assert.Equal(1, pool.NumFreeBlocks);
        pool.FreeBlocks([block]);
        Assert.Equal(0, block.RefCount);
        AssertNoLeak(pool);
        Assert.Throws<InvalidOperationException>(() => pool.FreeBlocks([block]));
    }

    [Fact]
    public void FreeBlocks_FreedLater_EvictedLater()
    {
        var pool = new BlockPool(4, enablePrefixCaching: true);
        IReadOnlyList<KVCacheBlock> first = pool.GetNewBlocks(2);   // 0, 1
        IReadOnlyList<KVCacheBlock> second = pool.GetNewBlocks(2);  // 2, 3
        pool.FreeBlocks(second.Reverse());                           // queue: 3, 2
        pool.FreeBlocks(first.Reverse());                            // queue: 3, 2, 1, 0
        Assert.Equal([3, 2, 1, 0], pool.FreeBlocksInEvictionOrder.Select(b => b.BlockId).ToArray());
        IReadOnlyList<KVCacheBlock> reused = pool.GetNewBlocks(3);
        Assert.Equal([3, 2, 1], TestRequests.Ids(reused));
        pool.FreeBlocks(reused);
        AssertNoLeak(pool);
    }

    [Fact]
    public void CacheFullBlocks_FullBlocks_LookupFindsThem()
    {
        var pool = new BlockPool(4, enablePrefixCaching: true);
        Request request = TestRequests.Make("a", 100, 10, BlockSize); // 2 full blocks + 2 tokens
        IReadOnlyList<KVCacheBlock> blocks = pool.GetNewBlocks(3);
        pool.CacheFullBlocks(request, blocks, 0, 2);
        Assert.Same(blocks[0], pool.GetCachedBlock(request.BlockHashes[0]));
        Assert.Same(blocks[1], pool.GetCachedBlock(request.BlockHashes[1]));
        Assert.Equal(request.BlockHashes[1], blocks[1].Hash);
        Assert.Null(blocks[2].Hash);
        pool.FreeBlocks(blocks.Reverse());
        AssertNoLeak(pool);
        // Freed blocks keep their hashes: still found.
        Assert.Same(blocks[0], pool.GetCachedBlock(request.BlockHashes[0]));
    }

    [Fact]
    public void GetNewBlocks_PopsCachedBlock_EvictsItsHash()
    {
        var pool = new BlockPool(2, enablePrefixCaching: true);
        Request request = TestRequests.Make("a", 0, 8, BlockSize);
        IReadOnlyList<KVCacheBlock> blocks = pool.GetNewBlocks(2);
        pool.CacheFullBlocks(request, blocks, 0, 2);
        pool.FreeBlocks(blocks.Reverse()); // queue: 1, 0
        KVCacheBlock reused = pool.GetNewBlocks(1)[0];
        Assert.Equal(1, reused.BlockId);
        Assert.Null(reused.Hash);
        Assert.Null(pool.GetCachedBlock(request.BlockHashes[1]));
        Assert.Same(blocks[0], pool.GetCachedBlock(request.BlockHashes[0]));
        pool.FreeBlocks([reused]);
        AssertNoLeak(pool);
    }

    [Fact]
    public void Touch_FreeCachedBlock_LeavesFreeQueue()
    {
        var pool = new BlockPool(3, enablePrefixCaching: true);
        Request request = TestRequests.Make("a", 0, 4, BlockSize);
        KVCacheBlock block = pool.GetNewBlocks(1)[0];
        pool.CacheFullBlocks(request, [block], 0, 1);
        pool.FreeBlocks([block]);
        Assert.Equal(3, pool.NumFreeBlocks);

        KVCacheBlock hit = pool.GetCachedBlock(request.BlockHashes[0])!;
        pool.Touch([hit]);
        Assert.Equal(1, hit.RefCount);
        Assert.Equal(2, pool.NumFreeBlocks);
        Assert.DoesNotContain(hit, pool.FreeBlocksInEvictionOrder);
        // The other two blocks are handed out; the touched one is not among them, so it keeps its hash.
        IReadOnlyList<KVCacheBlock> others = pool.GetNewBlocks(2);
        Assert.DoesNotContain(hit, others);
        Assert.Same(hit, pool.GetCachedBlock(request.BlockHashes[0]));
        pool.FreeBlocks(others);
        pool.FreeBlocks([hit]);
        AssertNoLeak(pool);
    }

    [Fact]
    public void CacheFullBlocks_DuplicateHash_KeepsFirstEntryAndSurvivesDuplicateEviction()
    {
        var pool = new BlockPool(2, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 7, 4, BlockSize);
        Request b = TestRequests.Make("b", 7, 4, BlockSize); // same content, same hash
        KVCacheBlock first = pool.GetNewBlocks(1)[0];
        KVCacheBlock second = pool.GetNewBlocks(1)[0];
        pool.CacheFullBlocks(a, [first], 0, 1);
        pool.CacheFullBlocks(b, [second], 0, 1);
        Assert.Same(first, pool.GetCachedBlock(a.BlockHashes[0]));

        pool.FreeBlocks([second]);
        pool.FreeBlocks([first]); // queue: second, first
        KVCacheBlock popped = pool.GetNewBlocks(1)[0];
        Assert.Same(second, popped);
        Assert.Same(first, pool.GetCachedBlock(a.BlockHashes[0]));
        pool.FreeBlocks([popped]);
        AssertNoLeak(pool);
    }

    [Fact]
    public void CacheFullBlocks_AlreadyCachedBlock_Throws()
    {
        var pool = new BlockPool(1, enablePrefixCaching: true);
        Request request = TestRequests.Make("a", 0, 4, BlockSize);
        KVCacheBlock block = pool.GetNewBlocks(1)[0];
        pool.CacheFullBlocks(request, [block], 0, 1);
        Assert.Throws<InvalidOperationException>(() => pool.CacheFullBlocks(request, [block], 0, 1));
        pool.FreeBlocks([block]);
        AssertNoLeak(pool);
    }

    [Fact]
    public void CacheFullBlocks_PrefixCachingDisabled_LeavesBlocksUnhashed()
    {
        var pool = new BlockPool(1, enablePrefixCaching: false);
        Request request = TestRequests.Make("a", 0, 4, BlockSize);
        KVCacheBlock block = pool.GetNewBlocks(1)[0];
        pool.CacheFullBlocks(request, [block], 0, 1);
        Assert.Null(block.Hash);
        Assert.Null(pool.GetCachedBlock(request.BlockHashes[0]));
        pool.FreeBlocks([block]);
        AssertNoLeak(pool);
    }

    [Fact]
    public void ResetPrefixCache_BlockInUse_RefusedThenClearsWhenAllFree()
    {
        var pool = new BlockPool(2, enablePrefixCaching: true);
        Request request = TestRequests.Make("a", 0, 4, BlockSize);
        KVCacheBlock block = pool.GetNewBlocks(1)[0];
        pool.CacheFullBlocks(request, [block], 0, 1);
        Assert.False(pool.ResetPrefixCache());
        Assert.Same(block, pool.GetCachedBlock(request.BlockHashes[0]));
        pool.FreeBlocks([block]);
        Assert.True(pool.ResetPrefixCache());
        Assert.Null(pool.GetCachedBlock(request.BlockHashes[0]));
        Assert.Null(block.Hash);
        AssertNoLeak(pool);
    }
}
