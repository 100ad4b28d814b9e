namespace VllmSharp.Kernels;

/// <summary>
/// A unit of parallel work for <see cref="WorkerPool.For{TJob}"/>: a struct so that dispatching it
/// allocates nothing. <see cref="Execute"/> is called once for every index in [0, count), from any thread.
/// </summary>
public interface IParallelJob
{
    void Execute(int index);
}
