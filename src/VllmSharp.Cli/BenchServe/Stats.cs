namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// The summary statistics <c>vllm bench serve</c> reports, with numpy's semantics so our numbers compare 1:1 with
/// vLLM's: population standard deviation (ddof 0), <c>np.percentile</c>'s default 'linear' interpolation, and 0 for
/// an empty list (vLLM passes <c>values or 0</c>).
/// </summary>
public static class Stats
{
    public static double Mean(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return 0;
        double sum = 0;
        for (int i = 0; i < values.Count; i++) sum += values[i];
        return sum / values.Count;
    }

    public static double Std(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return 0;
        double mean = Mean(values), sum = 0;
        for (int i = 0; i < values.Count; i++) sum += (values[i] - mean) * (values[i] - mean);
        return Math.Sqrt(sum / values.Count);
    }

    public static double Median(IReadOnlyList<double> values) => Percentile(values, 50);

    /// <summary>
    /// numpy 'linear': on the sorted values, the rank is p/100·(n−1) and the result interpolates between the two
    /// neighbouring order statistics.
    /// </summary>
    public static double Percentile(IReadOnlyList<double> values, double percent)
    {
        if (percent is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(percent), "percentiles must be in [0, 100].");
        if (values.Count == 0) return 0;
        double[] sorted = [.. values];
        Array.Sort(sorted);
        double rank = percent / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
