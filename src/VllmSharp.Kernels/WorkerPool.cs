using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace VllmSharp.Kernels;

/// <summary>
/// A persistent pool of worker threads that run one parallel loop at a time. The calling thread takes part,
/// workers spin briefly between loops (decode issues hundreds of small loops per token) and then sleep.
/// Indices are handed out one at a time through an atomic counter, so uneven items balance themselves.
/// </summary>
/// <remarks>
/// The caller never waits for a worker that has not joined the loop: when it runs out of items it closes the
/// loop, and waits only for workers already inside it. A worker that wakes late (descheduled on a busy machine)
/// finds the loop closed and goes back to waiting without touching the job. Waiting for every worker to check in
/// instead costs a whole OS time slice (milliseconds) whenever one is descheduled, which dominated decode GEMVs.
/// </remarks>
public sealed unsafe class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;
    private const int Closed = 1 << 30; // flag in _active: no worker may join the current loop any more

    private static readonly Lazy<WorkerPool> s_shared = new(() => new WorkerPool(Environment.ProcessorCount));

    /// <summary>The process-wide pool, one thread per logical core (the caller counts as one).</summary>
    public static WorkerPool Shared => s_shared.Value;

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private readonly object _sleepLock = new();

    // The loop being run; written by the caller only while the loop is closed and no worker is inside.
    private delegate*<void*, int, void> _invoke;
    private void* _job;
    private int _count;
    private int _next;
    private int _active = Closed; // workers inside the current loop, plus the Closed flag
    private long _generation;     // bumped once per loop; workers wait for it to change
    private int _sleepers;        // workers blocked in Monitor.Wait
    private volatile bool _disposed;
    private Exception? _error;

    [ThreadStatic] private static bool t_insideLoop;

    public WorkerPool(int threadCount)
    {
        ThreadCount = Math.Max(1, threadCount);
        _threads = new Thread[ThreadCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"vllmsharp-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that execute a loop, including the caller.</summary>
    public int ThreadCount { get; }

    /// <summary>
    /// Runs <c>job.Execute(i)</c> for every i in [0, count) and returns when all are done. An exception from an item
    /// stops handing out further items and is rethrown (the first one seen) on the caller.
    /// </summary>
    public void For<TJob>(int count, ref TJob job) where TJob : struct, IParallelJob, allows ref struct
    {
        if (count <= 0) return;
        if (count == 1 || _threads.Length == 0 || t_insideLoop)
        {
            // A loop started from inside another loop's item runs serially on this thread: the pool is busy.
            for (int i = 0; i < count; i++) job.Execute(i);
            return;
        }

        lock (_gate) // one loop at a time; concurrent callers queue here
        {
            var spinner = new SpinWait();
            // A late worker may still be between its join attempt and its retreat from the previous loop.
            while ((Volatile.Read(ref _active) & ~Closed) != 0) spinner.SpinOnce(-1);

            // Work on a copy in this frame: `job` may be a ref into a heap object that the GC could move while
            // workers hold a raw pointer to it; this stack slot cannot move. Copied back when the loop ends.
            TJob local = job;
            _invoke = &Invoke<TJob>;
            _job = Unsafe.AsPointer(ref local);
            _count = count;
            _next = 0;
            _error = null;
            Interlocked.And(ref _active, ~Closed); // open: fields above are published by this full fence
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) != 0)
            {
                lock (_sleepLock) Monitor.PulseAll(_sleepLock);
            }

            RunItems();
            Interlocked.Or(ref _active, Closed);
            spinner = new SpinWait();
            while ((Volatile.Read(ref _active) & ~Closed) != 0) spinner.SpinOnce(-1);

            _job = null;
            job = local;
            // Rethrow the original exception (as the serial path does) rather than wrapping it.
            if (_error is { } error) ExceptionDispatchInfo.Throw(error);
        }
    }

    private static void Invoke<TJob>(void* job, int index) where TJob : struct, IParallelJob, allows ref struct
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
            Interlocked.CompareExchange(ref _error, e, null);
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
        while (!_disposed)
        {
            // Spin for a while first: the next loop usually starts within microseconds during a forward pass.
            for (int spin = 0; spin < SpinIterations && Volatile.Read(ref _generation) == seen; spin++)
                Thread.SpinWait(8);
            if (Volatile.Read(ref _generation) == seen)
            {
                lock (_sleepLock)
                {
                    // Interlocked (a full fence) so that either the caller sees us sleeping and pulses, or we see
                    // its new generation here and do not wait.
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen && !_disposed) Monitor.Wait(_sleepLock);
                    Interlocked.Decrement(ref _sleepers);
                }
                continue;
            }
            seen = Volatile.Read(ref _generation);
            if ((Interlocked.Increment(ref _active) & Closed) == 0) RunItems();
            Interlocked.Decrement(ref _active);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        lock (_sleepLock) Monitor.PulseAll(_sleepLock);
    }
}
