using VllmSharp.Core.KVCache;
using Xunit;

namespace VllmSharp.Core.Tests.KVCache;

public sealed class FreeBlockQueueTests
{
    private static KVCacheBlock[] MakeBlocks(int count) => Enumerable.Range(0, count).Select(i => new KVCacheBlock(i)).ToArray();

    private static int[] Order(FreeBlockQueue queue) => queue.Blocks.Select(b => b.BlockId).ToArray();

    [Fact]
    public void Constructor_Blocks_QueuedInGivenOrder()
    {
        var queue = new FreeBlockQueue(MakeBlocks(4));
        Assert.Equal(4, queue.NumFreeBlocks);
        Assert.Equal([0, 1, 2, 3], Order(queue));
    }

    [Fact]
    public void PopLeft_Twice_ReturnsHeadBlocksInOrder()
    {
        var queue = new FreeBlockQueue(MakeBlocks(3));
        Assert.Equal(0, queue.PopLeft().BlockId);
        Assert.Equal(1, queue.PopLeft().BlockId);
        Assert.Equal(1, queue.NumFreeBlocks);
        Assert.Equal([2], Order(queue));
    }

    [Fact]
    public void Remove_MiddleBlock_KeepsOthersInOrder()
    {
        KVCacheBlock[] blocks = MakeBlocks(5);
        var queue = new FreeBlockQueue(blocks);
        queue.Remove(blocks[2]);
        Assert.Equal([0, 1, 3, 4], Order(queue));
        queue.Remove(blocks[0]);
        queue.Remove(blocks[4]);
        Assert.Equal([1, 3], Order(queue));
        Assert.Equal(2, queue.NumFreeBlocks);
    }

    [Fact]
    public void Append_RemovedBlock_GoesToTail()
    {
        KVCacheBlock[] blocks = MakeBlocks(3);
        var queue = new FreeBlockQueue(blocks);
        queue.Remove(blocks[0]);
        queue.Append(blocks[0]);
        Assert.Equal([1, 2, 0], Order(queue));
        Assert.Equal(1, queue.PopLeft().BlockId);
    }

    [Fact]
    public void PopLeft_EmptyQueue_Throws()
    {
        var queue = new FreeBlockQueue(MakeBlocks(1));
        queue.PopLeft();
        Assert.Equal(0, queue.NumFreeBlocks);
        Assert.Throws<InvalidOperationException>(() => queue.PopLeft());
    }

    [Fact]
    public void Remove_BlockNotQueued_Throws()
    {
        KVCacheBlock[] blocks = MakeBlocks(2);
        var queue = new FreeBlockQueue(blocks);
        KVCacheBlock popped = queue.PopLeft();
        Assert.Throws<InvalidOperationException>(() => queue.Remove(popped));
        Assert.Equal([1], Order(queue));
    }

    [Fact]
    public void Append_BlockAlreadyQueued_Throws()
    {
        KVCacheBlock[] blocks = MakeBlocks(2);
        var queue = new FreeBlockQueue(blocks);
        Assert.Throws<InvalidOperationException>(() => queue.Append(blocks[1]));
        Assert.Equal(2, queue.NumFreeBlocks);
    }

    [Fact]
    public void PopLeft_AfterMixedOperations_MatchesListModel()
    {
        // Independent reference: a plain List<int> that performs the same operations.
        KVCacheBlock[] blocks = MakeBlocks(16);
        var queue = new FreeBlockQueue(blocks);
        var model = Enumerable.Range(0, 16).ToList();
        var random = new Random(1234);
        var taken = new List<int>();
        for (int step = 0; step < 500; step++)
        {
            int op = random.Next(3);
            if (op == 0 && model.Count > 0)
            {
                int id = queue.PopLeft().BlockId;
                Assert.Equal(model[0], id);
                model.RemoveAt(0);
                taken.Add(id);
            }
            else if (op == 1 && model.Count > 0)
            {
                int id = model[random.Next(model.Count)];
                queue.Remove(blocks[id]);
                model.Remove(id);
                taken.Add(id);
            }
            else if (taken.Count > 0)
            {
                int id = taken[random.Next(taken.Count)];
                taken.Remove(id);
                queue.Append(blocks[id]);
                model.Add(id);
            }
            Assert.Equal(model.Count, queue.NumFreeBlocks);
        }
        Assert.Equal(model, Order(queue));
    }
}
