using Xunit;

namespace VllmSharp.Kernels.Tests;

public sealed class WorkerPoolTests
{
    private struct CountJob : IParallelJob
    {
        public int[] Hits;
        public readonly void Execute(int index) => Interlocked.Increment(ref Hits[index]);
    }

    private struct ThrowJob : IParallelJob
    {
        public int ThrowAt;
        public readonly void Execute(int index)
        {
            if (index == ThrowAt) throw new InvalidOperationException("boom " + index);
        }
    }

    private struct NestedJob : IParallelJob
    {
        public WorkerPool Pool;
        public int[] Hits;
        public readonly void Execute(int index)
        {
            var inner = new CountJob { Hits = new int[8] };
            Pool.For(8, ref inner); // runs serially on this thread: the pool is busy with the outer loop
            int sum = 0;
            foreach (int h in inner.Hits) sum += h;
            Interlocked.Add(ref Hits[index], sum);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1000)]
    [InlineData(4, 7)]
    public void For_AnyCount_ExecutesEveryIndexExactlyOnce(int threads, int count)
    {
        using var pool = new WorkerPool(threads);
        var job = new CountJob { Hits = new int[count] };
        pool.For(count, ref job);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void For_JobThrows_ExceptionReachesCaller()
    {
        using var pool = new WorkerPool(3);
        var job = new ThrowJob { ThrowAt = 37 };
        var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, ref job));
        Assert.Equal("boom 37", e.Message);

        var ok = new CountJob { Hits = new int[50] }; // the pool still works afterwards
        pool.For(50, ref ok);
        Assert.All(ok.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void For_NestedLoop_RunsInnerLoopCompletely()
    {
        using var pool = new WorkerPool(3);
        var job = new NestedJob { Pool = pool, Hits = new int[20] };
        pool.For(20, ref job);
        Assert.All(job.Hits, h => Assert.Equal(8, h));
    }

    [Fact]
    public void For_ManyConsecutiveLoops_EachCompletesBeforeNext()
    {
        using var pool = new WorkerPool(3);
        int[] hits = new int[5];
        var job = new CountJob { Hits = hits };
        for (int loop = 0; loop < 2000; loop++) pool.For(hits.Length, ref job);
        Assert.All(hits, h => Assert.Equal(2000, h));
    }

    [Fact]
    public void For_SharedPool_ExecutesEveryIndexExactlyOnce()
    {
        var job = new CountJob { Hits = new int[333] };
        WorkerPool.Shared.For(333, ref job);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }
}
