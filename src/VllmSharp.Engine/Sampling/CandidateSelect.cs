namespace VllmSharp.Engine.Sampling;

/// <summary>
/// Selection over candidate sort keys (<see cref="SamplingSimd.Gather"/>: ascending key = descending probability,
/// then ascending token id; keys are unique). Quickselect instead of a sort: sampling only needs to know which
/// tokens survive top-k/top-p, not their order, and a flat distribution can put 10⁵ tokens in the nucleus.
/// </summary>
internal static class CandidateSelect
{
    // Ranges this small are finished with a sort.
    private const int SortBelow = 32;

    /// <summary>Rearranges <paramref name="keys"/> so that its first <paramref name="k"/> entries are the k smallest.</summary>
    public static void SmallestByCount(Span<ulong> keys, int k)
    {
        int lo = 0, hi = keys.Length;
        while (hi - lo > SortBelow)
        {
            int split = Partition(keys, lo, hi, out _);
            if (k <= split) hi = split;
            else lo = split;
        }
        keys[lo..hi].Sort();
    }

    /// <summary>
    /// Rearranges <paramref name="keys"/> and returns the smallest n such that the first n entries are the n
    /// smallest keys and their probabilities sum to at least <paramref name="target"/> (all of them if the target
    /// is never reached).
    /// </summary>
    public static int SmallestByMass(Span<ulong> keys, double target)
    {
        int lo = 0, hi = keys.Length;
        double before = 0; // mass of keys[..lo], all smaller than every key in [lo, hi); always below target
        while (hi - lo > SortBelow)
        {
            int split = Partition(keys, lo, hi, out double leftMass);
            if (before + leftMass >= target) hi = split;
            else
            {
                before += leftMass;
                lo = split;
            }
        }
        Span<ulong> rest = keys[lo..hi];
        rest.Sort();
        for (int i = 0; i < rest.Length; i++)
        {
            before += SamplingSimd.KeyValue(rest[i]);
            if (before >= target) return lo + i + 1;
        }
        // Short only through rounding (the partition summed in another order): [0, hi) is what reached the target.
        return hi;
    }

    /// <summary>Sum of the probabilities behind the keys.</summary>
    public static double Mass(ReadOnlySpan<ulong> keys)
    {
        double sum = 0;
        foreach (ulong key in keys) sum += SamplingSimd.KeyValue(key);
        return sum;
    }

    // Moves keys below a median-of-three pivot to the front of [lo, hi) and returns where they end. With unique
    // keys and more than two entries the pivot is neither the minimum nor the maximum, so both sides are non-empty
    // and every round shrinks the range.
    private static int Partition(Span<ulong> keys, int lo, int hi, out double leftMass)
    {
        ulong a = keys[lo], b = keys[lo + (hi - lo) / 2], c = keys[hi - 1];
        ulong pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
        int store = lo;
        leftMass = 0;
        for (int i = lo; i < hi; i++)
        {
            ulong key = keys[i];
            if (key < pivot)
            {
                leftMass += SamplingSimd.KeyValue(key);
                keys[i] = keys[store];
                keys[store++] = key;
            }
        }
        return store;
    }
}
