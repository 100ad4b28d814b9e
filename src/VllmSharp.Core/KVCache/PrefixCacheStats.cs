namespace VllmSharp.Core.KVCache;

/// <summary>
/// Prefix-cache counters as vLLM's <c>PrefixCacheStats</c>: lookups of fresh requests and of preempted ones
/// (which re-hit their own blocks and would inflate the hit rate) are kept apart. Queries and hits count tokens.
/// </summary>
public sealed class PrefixCacheStats
{
    /// <summary>Fresh requests looked up.</summary>
    public long Requests { get; private set; }
    /// <summary>Tokens of fresh requests looked up.</summary>
    public long Queries { get; private set; }
    /// <summary>Tokens of fresh requests served from the cache.</summary>
    public long Hits { get; private set; }
    public long PreemptedRequests { get; private set; }
    public long PreemptedQueries { get; private set; }
    public long PreemptedHits { get; private set; }

    /// <summary>Hits / Queries over fresh requests; 0 before any query.</summary>
    public double HitRate => Queries == 0 ? 0 : (double)Hits / Queries;

    internal void Record(int numTokens, int numHits, bool preempted)
    {
        if (preempted)
        {
            PreemptedRequests++;
            PreemptedQueries += numTokens;
            PreemptedHits += numHits;
        }
        else
        {
            Requests++;
            Queries += numTokens;
            Hits += numHits;
        }
    }

    public void Reset()
    {
        Requests = Queries = Hits = 0;
        PreemptedRequests = PreemptedQueries = PreemptedHits = 0;
    }
}
