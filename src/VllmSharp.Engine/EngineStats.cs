namespace VllmSharp.Engine;

/// <summary>
/// A snapshot of the engine's load, for metrics and health: read without locking from another thread than the
/// engine core's, so each number is current but the set is not one consistent instant.
/// </summary>
public sealed record EngineStats(int NumRunning, int NumWaiting, int NumBlocks, int NumFreeBlocks, long PrefixCacheQueries = 0, long PrefixCacheHits = 0)
{
    public double KvCacheUsage => NumBlocks == 0 ? 0 : 1 - (double)NumFreeBlocks / NumBlocks;
    public bool IsIdle => NumRunning == 0 && NumWaiting == 0 && NumFreeBlocks == NumBlocks;
}
