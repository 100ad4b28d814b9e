namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// When each request is sent, as <c>vllm bench serve</c> decides it: rate ∞ sends everything at t = 0; otherwise the
/// gaps are Gamma(shape = burstiness, scale = 1/(rate·burstiness)) so their mean is 1/rate (burstiness 1 = Poisson,
/// &lt; 1 burstier, &gt; 1 more even, ∞ constant). Like vLLM the cumulative offsets are then rescaled so the last one is
/// exactly N/rate, which keeps throughput comparable across seeds.
/// </summary>
public static class ArrivalSchedule
{
    /// <summary>Seconds after the benchmark start at which request i is sent.</summary>
    public static double[] Offsets(int count, double requestRate, double burstiness, Random random)
    {
        if (!(requestRate > 0)) throw new ArgumentException($"--request-rate must be positive, got {requestRate}.");
        if (!(burstiness > 0)) throw new ArgumentException($"A positive burstiness factor is expected, but given {burstiness}.");
        var offsets = new double[count];
        if (double.IsPositiveInfinity(requestRate) || count == 0) return offsets;
        var gamma = new GammaSampler(random);
        double t = 0;
        for (int i = 0; i < count; i++)
        {
            t += double.IsPositiveInfinity(burstiness) ? 1.0 / requestRate : gamma.Next(burstiness, 1.0 / (requestRate * burstiness));
            offsets[i] = t;
        }
        double scale = count / requestRate / offsets[^1];
        for (int i = 0; i < count; i++) offsets[i] *= scale;
        return offsets;
    }
}
