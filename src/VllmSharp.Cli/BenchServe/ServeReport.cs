using System.Globalization;
using System.Text.Json.Nodes;

namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// vLLM's result block, line for line (<c>"{:&lt;40} {:&lt;10}"</c> rows, centred 50-wide rules), and the matching
/// keys of its result JSON.
/// </summary>
public static class ServeReport
{
    public static readonly (string Key, string Name, string Header)[] MetricNames =
    [
        ("ttft", "TTFT", "Time to First Token"),
        ("tpot", "TPOT", "Time per Output Token (excl. 1st token)"),
        ("itl", "ITL", "Inter-token Latency"),
        ("e2el", "E2EL", "End-to-end Latency"),
    ];

    /// <summary>Writes the block and adds the benchmark's figures to <paramref name="result"/>.</summary>
    public static void Write(TextWriter output, BenchmarkMetrics m, double durationSeconds, int? maxConcurrency, double requestRate,
        GoodputConfig goodput, IReadOnlyCollection<string> selectedMetrics, JsonObject result)
    {
        output.WriteLine(Center(" Serving Benchmark Result ", '='));
        output.WriteLine(Row("Successful requests:", m.Completed.ToString(CultureInfo.InvariantCulture)));
        output.WriteLine(Row("Failed requests:", m.Failed.ToString(CultureInfo.InvariantCulture)));
        if (maxConcurrency is int c) output.WriteLine(Row("Maximum request concurrency:", c.ToString(CultureInfo.InvariantCulture)));
        if (!double.IsPositiveInfinity(requestRate)) output.WriteLine(Row("Request rate configured (RPS):", F(requestRate)));
        output.WriteLine(Row("Benchmark duration (s):", F(durationSeconds)));
        output.WriteLine(Row("Total input tokens:", m.TotalInput.ToString(CultureInfo.InvariantCulture)));
        output.WriteLine(Row("Total generated tokens:", m.TotalOutput.ToString(CultureInfo.InvariantCulture)));
        output.WriteLine(Row("Request throughput (req/s):", F(m.RequestThroughput)));
        if (goodput.IsSet) output.WriteLine(Row("Request goodput (req/s):", F(m.RequestGoodput)));
        output.WriteLine(Row("Output token throughput (tok/s):", F(m.OutputThroughput)));
        output.WriteLine(Row("Peak output token throughput (tok/s):", F(m.MaxOutputTokensPerSecond)));
        output.WriteLine(Row("Peak concurrent requests:", F(m.MaxConcurrentRequests)));
        output.WriteLine(Row("Total Token throughput (tok/s):", F(m.TotalTokenThroughput)));

        result["duration"] = durationSeconds;
        result["completed"] = m.Completed;
        result["failed"] = m.Failed;
        result["total_input_tokens"] = m.TotalInput;
        result["total_output_tokens"] = m.TotalOutput;
        result["request_throughput"] = m.RequestThroughput;
        result["request_goodput"] = goodput.IsSet ? m.RequestGoodput : null;
        result["output_throughput"] = m.OutputThroughput;
        result["total_token_throughput"] = m.TotalTokenThroughput;
        result["max_output_tokens_per_s"] = m.MaxOutputTokensPerSecond;
        result["max_concurrent_requests"] = m.MaxConcurrentRequests;

        foreach ((string key, string name, string header) in MetricNames)
        {
            if (!selectedMetrics.Contains(key)) continue;
            MetricSummary s = key switch { "ttft" => m.Ttft, "tpot" => m.Tpot, "itl" => m.Itl, _ => m.E2el };
            output.WriteLine(Center(header, '-'));
            output.WriteLine(Row($"Mean {name} (ms):", F(s.MeanMs)));
            output.WriteLine(Row($"Median {name} (ms):", F(s.MedianMs)));
            result[$"mean_{key}_ms"] = s.MeanMs;
            result[$"median_{key}_ms"] = s.MedianMs;
            result[$"std_{key}_ms"] = s.StdMs;
            foreach ((double p, double value) in s.PercentilesMs)
            {
                string word = PercentWord(p);
                output.WriteLine(Row($"P{word} {name} (ms):", F(value)));
                result[$"p{word}_{key}_ms"] = value;
            }
        }
        output.WriteLine(new string('=', 50));
    }

    /// <summary>Python's <c>"{:&lt;40} {:&lt;10}"</c>: label left-aligned in 40, a space, value left-aligned in 10.</summary>
    public static string Row(string label, string value) => label.PadRight(40) + " " + value.PadRight(10);

    /// <summary>Python's <c>"{s:{c}^50}"</c>: centred, the odd fill character on the right.</summary>
    public static string Center(string text, char fill, int width = 50)
    {
        int pad = Math.Max(0, width - text.Length), left = pad / 2;
        return new string(fill, left) + text + new string(fill, pad - left);
    }

    /// <summary>"99" for 99.0, "99.9" otherwise (vLLM's key and label spelling).</summary>
    public static string PercentWord(double p) => p == Math.Floor(p) ? ((long)p).ToString(CultureInfo.InvariantCulture) : p.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Python's str(float) for the rate in file names and JSON ("inf", "2.0", "0.5").</summary>
    public static string PythonFloat(double value)
        => double.IsPositiveInfinity(value) ? "inf" : value == Math.Floor(value) && Math.Abs(value) < 1e16 ? value.ToString("F1", CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
}
