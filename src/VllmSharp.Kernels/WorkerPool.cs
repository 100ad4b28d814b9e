using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels;

/// <summary>
/// A persistent pool of worker threads that run one parallel loop at a time. The calling thread takes part,
/// workers spin briefly between loops (decode issues hundreds of small loops per token) and then sleep.
/// Indices are handed out one at a time through an atomic counter, so uneven items balance themselves.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;

    private static readonly Lazy<WorkerPool> s_shared = new(() => new WorkerPool(Environment.ProcessorCount));

    /// <summary>The process-wide pool, one thread per logical core (the caller counts as one).</summary>
    public static WorkerPool Shared => s_shared.Value;

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _wake;

    // The loop being run; written by the caller before the generation is bumped.
    private delegate*<void*, int, void> _invoke;
    private void* _job;
    private int _count;
    private int _next;
    private int _pending;      // workers that have not finished the current loop yet
    private long _generation;  // bumped once per loop; workers wait for it to change
    private volatile bool _disposed;
    private Exception? _error;

    [ThreadStatic] private static bool t_insideLoop;

    public WorkerPool(int threadCount)
    {
        ThreadCount = Math.Max(1, threadCount);
        _wake = new SemaphoreSlim(0);
        _threads = new Thread[ThreadCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"vllmsharp-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that execute a loop, including the caller.</summary>
    public int ThreadCount { get; }

    /// <summary>Runs <c>job.Execute(i)</c> for every i in [0, count) and returns when all are done.</summary>
    public void For<TJob>(int count, ref TJob job) where TJob : struct, IParallelJob
    {
        if (count <= 0) return;
        if (count == 1 || _threads.Length == 0 || t_insideLoop)
        {
            // A loop started from inside another loop's item runs serially on this thread: the pool is busy.
            for (int i = 0; i < count; i++) job.Execute(i);
            return;
        }

        lock (_gate) // one loop at a time; nested or concurrent callers queue here
        {
            _invoke = &Invoke<TJob>;
            _job = Unsafe.AsPointer(ref job); // job lives on the caller's stack, which outlives the loop
            _count = count;
            _next = 0;
            _error = null;
            Volatile.Write(ref _pending, _threads.Length);
            Interlocked.Increment(ref _generation);
            _wake.Release(_threads.Length);

            RunItems();
            var spinner = new SpinWait();
            while (Volatile.Read(ref _pending) != 0) spinner.SpinOnce(-1);

            _job = null;
            if (_error is { } error) throw new AggregateException(error);
        }
    }

    private static void Invoke<TJob>(void* job, int index) where TJob : struct, IParallelJob
        => Unsafe.AsRef<TJob>(job).Execute(index);

    private void RunItems()
    {
        t_insideLoop = true;
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count) _invoke(_job, i);
        }
        catch (Exception e)
        {
            _error = e;
            Volatile.Write(ref _next, _count); // stop handing out work
        }
        finally
        {
            t_insideLoop = false;
        }
    }

    private void WorkerLoop()
    {
        long seen = 0;
        while (true)
        {
            // Spin for a while first: the next loop usually starts within microseconds during a forward pass.
            for (int spin = 0; spin < SpinIterations && Volatile.Read(ref _generation) == seen; spin++)
                Thread.SpinWait(8);
            if (Volatile.Read(ref _generation) == seen)
            {
                _wake.Wait();
                if (_disposed) return;
                if (Volatile.Read(ref _generation) == seen) continue;
            }
            else
            {
                _wake.Wait(); // consume the release meant for this worker
            }
            seen = Volatile.Read(ref _generation);
            RunItems();
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _wake.Release(_threads.Length);
    }
}
