namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// The aggregate figures of one <c>bench serve</c> run, computed as vLLM's <c>calculate_metrics</c> does:
/// TPOT = (e2el − ttft)/(output − 1) for requests with more than one output token, ITL pooled over all requests,
/// throughput over the wall-clock duration, and the peak output tokens/s in one-second buckets.
/// </summary>
public sealed record BenchmarkMetrics
{
    public int Completed { get; init; }
    public int Failed { get; init; }
    public long TotalInput { get; init; }
    public long TotalOutput { get; init; }
    public double RequestThroughput { get; init; }
    public double RequestGoodput { get; init; }
    public double OutputThroughput { get; init; }
    public double TotalTokenThroughput { get; init; }
    public required MetricSummary Ttft { get; init; }
    public required MetricSummary Tpot { get; init; }
    public required MetricSummary Itl { get; init; }
    public required MetricSummary E2el { get; init; }
    public double MaxOutputTokensPerSecond { get; init; }
    public int MaxConcurrentRequests { get; init; }
    /// <summary>Output tokens per request (0 for failed ones), in request order.</summary>
    public required int[] OutputLens { get; init; }

    /// <param name="countTokens">Counts the tokens of generated text when the server sent no usage; null counts content chunks.</param>
    public static BenchmarkMetrics Calculate(IReadOnlyList<RequestResult> outputs, double durationSeconds, IReadOnlyList<double> percentiles,
        GoodputConfig goodput, Func<string, int>? countTokens)
    {
        var outputLens = new int[outputs.Count];
        var ttfts = new List<double>();
        var tpots = new List<double>();
        var itls = new List<double>();
        var e2els = new List<double>();
        long totalInput = 0;
        int completed = 0, good = 0;
        for (int i = 0; i < outputs.Count; i++)
        {
            RequestResult r = outputs[i];
            if (!r.Success) continue;
            int outputLen = r.UsageOutputTokens is int usage and > 0 ? usage
                : countTokens is not null ? countTokens(r.GeneratedText) : r.ContentChunks;
            outputLens[i] = outputLen;
            totalInput += r.PromptLen;
            double tpot = 0; // vLLM counts a one-token answer's TPOT as 0 for goodput but leaves it out of the TPOT stats
            if (outputLen > 1)
            {
                tpot = (r.Latency - r.Ttft) / (outputLen - 1);
                tpots.Add(tpot);
            }
            itls.AddRange(r.Itl);
            ttfts.Add(r.Ttft);
            e2els.Add(r.Latency);
            completed++;
            if (goodput.IsSet && goodput.IsGood(r.Ttft, tpot, r.Latency)) good++;
        }
        long totalOutput = 0;
        foreach (int len in outputLens) totalOutput += len;
        (double peakTokens, int peakConcurrency) = Peaks(outputs);
        return new BenchmarkMetrics
        {
            Completed = completed,
            Failed = outputs.Count - completed,
            TotalInput = totalInput,
            TotalOutput = totalOutput,
            RequestThroughput = completed / durationSeconds,
            RequestGoodput = good / durationSeconds,
            OutputThroughput = totalOutput / durationSeconds,
            TotalTokenThroughput = (totalInput + totalOutput) / durationSeconds,
            Ttft = MetricSummary.Of(ttfts, percentiles),
            Tpot = MetricSummary.Of(tpots, percentiles),
            Itl = MetricSummary.Of(itls, percentiles),
            E2el = MetricSummary.Of(e2els, percentiles),
            MaxOutputTokensPerSecond = peakTokens,
            MaxConcurrentRequests = peakConcurrency,
            OutputLens = outputLens,
        };
    }

    /// <summary>
    /// Content chunks per one-second bucket since the first successful request started (each chunk's time rebuilt
    /// from start + ttft + itl, as vLLM does), and the most requests active within one bucket.
    /// </summary>
    private static (double Tokens, int Concurrency) Peaks(IReadOnlyList<RequestResult> outputs)
    {
        double first = double.MaxValue, last = double.MinValue;
        foreach (RequestResult r in outputs)
            if (r.Success)
            {
                first = Math.Min(first, r.StartTime);
                last = Math.Max(last, r.StartTime + r.Latency);
            }
        if (first == double.MaxValue) return (0, 0);
        int buckets = (int)Math.Ceiling(last - first) + 1;
        var tokens = new double[buckets];
        var active = new int[buckets];
        foreach (RequestResult r in outputs)
        {
            if (!r.Success) continue;
            double t = r.StartTime + r.Ttft;
            Add(tokens, t - first);
            foreach (double gap in r.Itl)
            {
                t += gap;
                Add(tokens, t - first);
            }
            int from = (int)(r.StartTime - first), to = Math.Min(buckets - 1, (int)(r.StartTime + r.Latency - first));
            for (int s = from; s <= to; s++) active[s]++;
        }
        return (tokens.Max(), active.Max());

        static void Add(double[] buckets, double offset)
        {
            int b = (int)offset;
            if (b >= 0 && b < buckets.Length) buckets[b]++;
        }
    }
}
