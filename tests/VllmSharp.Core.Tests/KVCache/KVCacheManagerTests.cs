using VllmSharp.Core.KVCache;
using VllmSharp.Core.Requests;
using VllmSharp.Core.Sampling;
using Xunit;

namespace VllmSharp.Core.Tests.KVCache;

public sealed class KVCacheManagerTests
{
    private const int BlockSize = 4;

    private static void AssertNoLeak(KVCacheManager manager)
    {
        Assert.Equal(manager.NumBlocks, manager.NumFreeBlocks);
        Assert.Equal(0.0, manager.Usage);
        for (int id = 0; id < manager.NumBlocks; id++) Assert.Equal(0, manager.BlockPool[id].RefCount);
    }

    /// <summary>First scheduling of a request as the scheduler does it: look up hits, allocate the rest of the prompt.</summary>
    private static IReadOnlyList<KVCacheBlock>? SchedulePrompt(KVCacheManager manager, Request request, int? chunk = null)
    {
        var (hits, numHitTokens) = manager.GetComputedBlocks(request);
        int numNewTokens = chunk ?? request.NumTokens - numHitTokens;
        IReadOnlyList<KVCacheBlock>? blocks = manager.AllocateSlots(request, numNewTokens, numHitTokens, hits);
        if (blocks is not null) request.NumComputedTokens = numHitTokens + numNewTokens;
        return blocks;
    }

    [Fact]
    public void AllocateSlots_ChunkedPrefillThenDecode_AllocatesAtBlockBoundaries()
    {
        var manager = new KVCacheManager(8, BlockSize, enablePrefixCaching: true);
        Request request = TestRequests.Make("a", 0, 10, BlockSize);

        // Chunk 1: tokens 0..5 need ceil(6/4) = 2 blocks; only block 0 is full, so only it is cached.
        Assert.Equal(2, manager.AllocateSlots(request, 6)!.Count);
        request.NumComputedTokens = 6;
        Assert.Equal([0, 1], manager.GetBlockIds("a"));
        Assert.Same(manager.BlockPool[0], manager.BlockPool.GetCachedBlock(request.BlockHashes[0]));
        Assert.Null(manager.BlockPool[1].Hash);

        // Chunk 2: tokens 6..9 → 10 tokens need 3 blocks, 1 new; block 1 is now full and cached.
        Assert.Equal([2], TestRequests.Ids(manager.AllocateSlots(request, 4)!));
        request.NumComputedTokens = 10;
        Assert.Same(manager.BlockPool[1], manager.BlockPool.GetCachedBlock(request.BlockHashes[1]));

        // Decode: 11 and 12 tokens fit in 3 blocks; the 13th needs a 4th.
        int[] expectedNew = [0, 0, 1, 0];
        for (int step = 0; step < expectedNew.Length; step++)
        {
            request.AppendOutputToken(1000 + step);
            IReadOnlyList<KVCacheBlock> added = manager.AllocateSlots(request, 1)!;
            Assert.Equal(expectedNew[step], added.Count);
            request.NumComputedTokens++;
        }
        Assert.Equal(14, request.NumTokens);
        Assert.Equal([0, 1, 2, 3], manager.GetBlockIds("a"));
        // The block filled by decode (tokens 8..11, two of them outputs) is cached under the request's hash.
        Assert.Same(manager.BlockPool[2], manager.BlockPool.GetCachedBlock(request.BlockHashes[2]));
        Assert.Equal(0.5, manager.Usage, 12);

        manager.Free(request);
        AssertNoLeak(manager);
    }

    [Fact]
    public void AllocateSlots_LookaheadTokens_AllocatedButNotCached()
    {
        var manager = new KVCacheManager(4, BlockSize, enablePrefixCaching: true);
        Request request = TestRequests.Make("a", 0, 4, BlockSize);
        // 4 prompt tokens + 3 speculative slots = 7 tokens → 2 blocks; the speculative ones have no hash yet.
        Assert.Equal(2, manager.AllocateSlots(request, 4, numLookaheadTokens: 3)!.Count);
        Assert.NotNull(manager.BlockPool[0].Hash);
        Assert.Null(manager.BlockPool[1].Hash);
        manager.Free(request);
        AssertNoLeak(manager);
    }

    [Fact]
    public void AllocateSlots_NotEnoughBlocks_ReturnsNullAndChangesNothing()
    {
        var manager = new KVCacheManager(3, BlockSize, enablePrefixCaching: true);
        Request small = TestRequests.Make("small", 500, 4, BlockSize);
        Assert.NotNull(SchedulePrompt(manager, small));
        Request big = TestRequests.Make("big", 0, 9, BlockSize); // needs 3 blocks, 2 free
        Assert.Null(manager.AllocateSlots(big, 9));
        Assert.Equal(2, manager.NumFreeBlocks);
        Assert.Empty(manager.GetBlockIds("big"));
        manager.Free(small);
        AssertNoLeak(manager);
    }

    [Fact]
    public void AllocateSlots_NotEnoughBlocksCountingFreeHits_ReturnsNullAndLeavesHitsFree()
    {
        var manager = new KVCacheManager(4, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 9, BlockSize);   // blocks 0, 1 (full), 2
        SchedulePrompt(manager, a);
        manager.Free(a);                                      // queue: 3, 2, 1, 0
        Request other = TestRequests.Make("other", 900, 3, BlockSize);
        Assert.Equal([3], TestRequests.Ids(SchedulePrompt(manager, other)!));

        // b shares a's two full blocks (free, so each costs a free block) and needs 2 more: 4 > 3 free.
        Request b = TestRequests.Make("b", 0, 13, BlockSize);
        var (hits, hitTokens) = manager.GetComputedBlocks(b);
        Assert.Equal([0, 1], TestRequests.Ids(hits));
        Assert.Null(manager.AllocateSlots(b, b.NumTokens - hitTokens, hitTokens, hits));
        Assert.Equal(3, manager.NumFreeBlocks);
        Assert.All(hits, h => Assert.Equal(0, h.RefCount));
        Assert.Same(hits[1], manager.BlockPool.GetCachedBlock(b.BlockHashes[1]));
        Assert.Empty(manager.GetBlockIds("b"));

        manager.Free(other);
        AssertNoLeak(manager);
    }

    [Fact]
    public void GetComputedBlocks_SharedPrompt_SecondRequestReusesFullBlocks()
    {
        var manager = new KVCacheManager(8, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 10, BlockSize);
        SchedulePrompt(manager, a);
        Request b = TestRequests.Make("b", 0, 10, BlockSize);
        var (hits, hitTokens) = manager.GetComputedBlocks(b);
        Assert.Equal(8, hitTokens);
        Assert.Equal([0, 1], TestRequests.Ids(hits));

        Assert.Equal([3], TestRequests.Ids(manager.AllocateSlots(b, 2, hitTokens, hits)!));
        Assert.Equal([0, 1, 3], manager.GetBlockIds("b"));
        Assert.Equal(2, manager.BlockPool[0].RefCount);
        Assert.Equal(2, manager.BlockPool[1].RefCount);
        Assert.Equal(4, manager.NumFreeBlocks);

        // Shared blocks survive the first free and go back only with the second.
        manager.Free(a);
        Assert.Equal(1, manager.BlockPool[0].RefCount);
        Assert.Equal(5, manager.NumFreeBlocks); // a's partial block 2 only
        manager.Free(b);
        AssertNoLeak(manager);
    }

    [Fact]
    public void GetComputedBlocks_PromptOfExactlyTwoBlocks_HitsOnlyOneSoLastTokenIsComputed()
    {
        var manager = new KVCacheManager(4, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 8, BlockSize);
        SchedulePrompt(manager, a);
        Request b = TestRequests.Make("b", 0, 8, BlockSize);
        var (hits, hitTokens) = manager.GetComputedBlocks(b);
        Assert.Equal(4, hitTokens);
        Assert.Equal([0], TestRequests.Ids(hits));
        // b recomputes tokens 4..7 into a fresh block although a's block 1 holds them.
        Assert.Equal([2], TestRequests.Ids(manager.AllocateSlots(b, 4, hitTokens, hits)!));
        manager.Free(a);
        manager.Free(b);
        AssertNoLeak(manager);
    }

    [Fact]
    public void GetComputedBlocks_MissInMiddle_StopsAtFirstMiss()
    {
        var manager = new KVCacheManager(3, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 12, BlockSize); // 3 full blocks, all cached
        SchedulePrompt(manager, a);
        manager.Free(a);                                       // queue: 2, 1, 0
        KVCacheBlock kept = manager.BlockPool[2];
        manager.BlockPool.Touch([kept]);                       // pin block 2: queue 1, 0
        Request other = TestRequests.Make("other", 900, 3, BlockSize);
        Assert.Equal([1], TestRequests.Ids(SchedulePrompt(manager, other)!)); // evicts block 1 only

        Request b = TestRequests.Make("b", 0, 13, BlockSize);  // up to 3 blocks could hit
        Assert.Same(kept, manager.BlockPool.GetCachedBlock(b.BlockHashes[2]));
        var (hits, hitTokens) = manager.GetComputedBlocks(b);
        Assert.Equal([0], TestRequests.Ids(hits));
        Assert.Equal(4, hitTokens);

        manager.Free(other);
        manager.BlockPool.FreeBlocks([kept]);
        AssertNoLeak(manager);
    }

    [Fact]
    public void GetComputedBlocks_FinishedRequest_BlocksStayCachedAndAreReused()
    {
        var manager = new KVCacheManager(6, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 9, BlockSize);
        SchedulePrompt(manager, a);
        IReadOnlyList<int> aBlocks = manager.GetBlockIds("a");
        manager.Free(a);
        AssertNoLeak(manager);

        Request b = TestRequests.Make("b", 0, 9, BlockSize);
        SchedulePrompt(manager, b);
        Assert.Equal(aBlocks[0], manager.GetBlockIds("b")[0]);
        Assert.Equal(aBlocks[1], manager.GetBlockIds("b")[1]);
        Assert.Equal(8, manager.Stats.Hits);
        manager.Free(b);
        AssertNoLeak(manager);
    }

    [Fact]
    public void AllocateSlots_PoolRunsShort_ReclaimsLeastRecentlyFreedTailFirst()
    {
        var manager = new KVCacheManager(6, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 9, BlockSize);   // blocks 0, 1, 2
        Request b = TestRequests.Make("b", 100, 9, BlockSize); // blocks 3, 4, 5
        SchedulePrompt(manager, a);
        SchedulePrompt(manager, b);
        manager.Free(a);
        manager.Free(b); // queue: 2, 1, 0, 5, 4, 3

        Request c = TestRequests.Make("c", 900, 3, BlockSize);
        Assert.Equal([2], TestRequests.Ids(SchedulePrompt(manager, c)!)); // a's partial tail block
        Assert.Equal(8, manager.GetComputedBlocks(TestRequests.Make("a2", 0, 9, BlockSize)).NumComputedTokens);

        Request d = TestRequests.Make("d", 950, 3, BlockSize);
        Assert.Equal([1], TestRequests.Ids(SchedulePrompt(manager, d)!)); // then a's last full block
        Assert.Equal(4, manager.GetComputedBlocks(TestRequests.Make("a3", 0, 9, BlockSize)).NumComputedTokens);
        Assert.Equal(8, manager.GetComputedBlocks(TestRequests.Make("b2", 100, 9, BlockSize)).NumComputedTokens);

        // A request needing every free block reclaims the rest of the cache.
        Request e = TestRequests.Make("e", 2000, 16, BlockSize);
        Assert.Equal([0, 5, 4, 3], TestRequests.Ids(SchedulePrompt(manager, e)!));
        Assert.Equal(0, manager.GetComputedBlocks(TestRequests.Make("a4", 0, 9, BlockSize)).NumComputedTokens);
        Assert.Equal(0, manager.GetComputedBlocks(TestRequests.Make("b3", 100, 9, BlockSize)).NumComputedTokens);

        manager.Free(c);
        manager.Free(d);
        manager.Free(e);
        AssertNoLeak(manager);
    }

    [Fact]
    public void GetComputedBlocks_PrefixCachingDisabled_NoHitsAndNoHashes()
    {
        var manager = new KVCacheManager(6, BlockSize, enablePrefixCaching: false);
        Request a = TestRequests.Make("a", 0, 9, BlockSize);
        SchedulePrompt(manager, a);
        Assert.All(manager.GetBlocks("a"), block => Assert.Null(block.Hash));
        Request b = TestRequests.Make("b", 0, 9, BlockSize);
        var (hits, hitTokens) = manager.GetComputedBlocks(b);
        Assert.Empty(hits);
        Assert.Equal(0, hitTokens);
        Assert.Equal(0, manager.Stats.Requests);
        SchedulePrompt(manager, b);
        Assert.Equal([3, 4, 5], manager.GetBlockIds("b"));
        manager.Free(a);
        manager.Free(b);
        AssertNoLeak(manager);
    }

    [Fact]
    public void GetComputedBlocks_PromptLogprobsRequested_SkipsCache()
    {
        var manager = new KVCacheManager(6, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 9, BlockSize);
        SchedulePrompt(manager, a);
        Request b = TestRequests.Make("b", 0, 9, BlockSize, new SamplingParams { PromptLogprobs = 1 });
        Assert.Equal(0, manager.GetComputedBlocks(b).NumComputedTokens);
        manager.Free(a);
        AssertNoLeak(manager);
    }

    [Fact]
    public void Free_CalledTwiceOrForUnknownRequest_IsNoOp()
    {
        var manager = new KVCacheManager(4, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 6, BlockSize);
        Request b = TestRequests.Make("b", 0, 6, BlockSize);
        SchedulePrompt(manager, a);
        SchedulePrompt(manager, b); // shares block 0
        manager.Free(a);
        manager.Free(a);
        Assert.Equal(1, manager.BlockPool[0].RefCount);
        manager.Free(TestRequests.Make("never", 0, 1, BlockSize));
        Assert.Empty(manager.GetBlockIds("a"));
        manager.Free(b);
        AssertNoLeak(manager);
    }

    [Fact]
    public void Stats_HitsAndMisses_CountTokensPerRequest()
    {
        var manager = new KVCacheManager(8, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 10, BlockSize);
        SchedulePrompt(manager, a);                                       // 10 queried, 0 hit
        Request b = TestRequests.Make("b", 0, 10, BlockSize);
        SchedulePrompt(manager, b);                                       // 10 queried, 8 hit
        Request preempted = TestRequests.Make("p", 0, 6, BlockSize);
        preempted.NumPreemptions = 1;
        manager.GetComputedBlocks(preempted);                             // kept apart: 6 queried, 4 hit

        Assert.Equal(2, manager.Stats.Requests);
        Assert.Equal(20, manager.Stats.Queries);
        Assert.Equal(8, manager.Stats.Hits);
        Assert.Equal(0.4, manager.Stats.HitRate, 12);
        Assert.Equal(1, manager.Stats.PreemptedRequests);
        Assert.Equal(6, manager.Stats.PreemptedQueries);
        Assert.Equal(4, manager.Stats.PreemptedHits);
        manager.Stats.Reset();
        Assert.Equal(0, manager.Stats.Queries);

        manager.Free(a);
        manager.Free(b);
        AssertNoLeak(manager);
    }

    [Fact]
    public void GetComputedBlocks_PreemptedRequestWithOutputs_HitsItsOwnDecodedBlocks()
    {
        var manager = new KVCacheManager(8, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 6, BlockSize);
        SchedulePrompt(manager, a);
        for (int i = 0; i < 3; i++)
        {
            a.AppendOutputToken(500 + i);
            manager.AllocateSlots(a, 1);
            a.NumComputedTokens++;
        }
        a.AppendOutputToken(503); // 10 tokens, 9 computed
        // Preempt by recompute: free, forget progress; rescheduling re-hits both full blocks (8 of 10 tokens).
        manager.Free(a);
        a.NumComputedTokens = 0;
        a.NumPreemptions++;
        Assert.Equal(8, manager.GetComputedBlocks(a).NumComputedTokens);
        AssertNoLeak(manager);
    }

    [Fact]
    public void AllocateSlots_HitsForRequestThatAlreadyHasBlocks_Throws()
    {
        var manager = new KVCacheManager(4, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 9, BlockSize);
        SchedulePrompt(manager, a);
        Assert.Throws<InvalidOperationException>(() => manager.AllocateSlots(a, 1, 0, [manager.BlockPool[0]]));
        Assert.Throws<ArgumentOutOfRangeException>(() => manager.AllocateSlots(a, 0));
        manager.Free(a);
        AssertNoLeak(manager);
    }

    [Fact]
    public void AllocateSlots_HitEvictedAfterLookup_Throws()
    {
        var manager = new KVCacheManager(3, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 5, BlockSize);
        SchedulePrompt(manager, a);
        manager.Free(a); // queue: 2, 1, 0 (block 0 cached)
        Request b = TestRequests.Make("b", 0, 5, BlockSize);
        var (hits, hitTokens) = manager.GetComputedBlocks(b);
        Request other = TestRequests.Make("other", 900, 12, BlockSize);
        SchedulePrompt(manager, other); // takes all three blocks, evicting b's hit
        manager.Free(other);
        Assert.Throws<InvalidOperationException>(() => manager.AllocateSlots(b, 1, hitTokens, hits));
        AssertNoLeak(manager);
    }

    [Fact]
    public void ResetPrefixCache_AfterAllFreed_DropsHits()
    {
        var manager = new KVCacheManager(4, BlockSize, enablePrefixCaching: true);
        Request a = TestRequests.Make("a", 0, 9, BlockSize);
        SchedulePrompt(manager, a);
        Assert.False(manager.ResetPrefixCache());
        manager.Free(a);
        Assert.True(manager.ResetPrefixCache());
        Assert.Equal(0, manager.GetComputedBlocks(TestRequests.Make("b", 0, 9, BlockSize)).NumComputedTokens);
        AssertNoLeak(manager);
    }
}
