using VllmSharp.Cli.BenchServe;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

public class BenchmarkMetricsTests
{
    // Inputs are exact binary-friendly numbers; results differ from the hand values only by double rounding.
    private const double Tolerance = 1e-9;

    private static RequestResult Stream(double start, double ttft, double[] itl, double latency, int? usage, int promptLen = 10)
    {
        var r = new RequestResult { Success = true, StartTime = start, Ttft = ttft, Latency = latency, UsageOutputTokens = usage, PromptLen = promptLen, ContentChunks = itl.Length + 1 };
        r.Itl.AddRange(itl);
        return r;
    }

    [Fact]
    public void Calculate_TwoStreamsAndAFailure_TpotItlThroughputAsVllm()
    {
        RequestResult[] results =
        [
            // 5 tokens: TPOT = (0.9 − 0.1)/4 = 0.2
            Stream(0.0, 0.1, [0.2, 0.2, 0.2, 0.2], 0.9, usage: 5),
            // no usage: counted from 3 content chunks; TPOT = (1.5 − 0.5)/2 = 0.5
            Stream(0.25, 0.5, [0.25, 0.75], 1.5, usage: null),
            new RequestResult { Success = false, Error = "HTTP 500", PromptLen = 10 },
        ];
        var m = BenchmarkMetrics.Calculate(results, durationSeconds: 2.0, percentiles: [50, 99], new GoodputConfig(null, null, null), countTokens: null);

        Assert.Equal(2, m.Completed);
        Assert.Equal(1, m.Failed);
        Assert.Equal(20, m.TotalInput); // failed requests' prompts do not count
        Assert.Equal(8, m.TotalOutput);
        Assert.Equal([5, 3, 0], m.OutputLens);
        Assert.Equal(1.0, m.RequestThroughput, Tolerance);
        Assert.Equal(4.0, m.OutputThroughput, Tolerance);
        Assert.Equal(14.0, m.TotalTokenThroughput, Tolerance);
        Assert.Equal(300.0, m.Ttft.MeanMs, Tolerance);
        Assert.Equal(350.0, m.Tpot.MeanMs, Tolerance);
        Assert.Equal(150.0, m.Tpot.StdMs, Tolerance);
        // ITLs pooled and sorted: 0.2 ×4, 0.25, 0.75 (mean 1.8/6). Median: rank 2.5 falls between two 0.2s; p99: rank 4.95 → 0.25 + 0.95·0.5.
        Assert.Equal(300.0, m.Itl.MeanMs, Tolerance);
        Assert.Equal(200.0, m.Itl.MedianMs, Tolerance);
        Assert.Equal(725.0, m.Itl.PercentilesMs[1].ValueMs, Tolerance);
        Assert.Equal(1200.0, m.E2el.MeanMs, Tolerance);
        Assert.Equal(2, m.MaxConcurrentRequests);
        // Chunks at 0.1, 0.3, 0.5, 0.7, 0.9 and 0.75, 1.0, 1.75 → bucket [0, 1) holds 6.
        Assert.Equal(6, m.MaxOutputTokensPerSecond);
    }

    [Fact]
    public void Calculate_NoUsageWithTokenizer_CountsTokensOfGeneratedText()
    {
        RequestResult r = Stream(0, 0.1, [0.1], 0.3, usage: null);
        r.GeneratedText = "a b c d";
        var m = BenchmarkMetrics.Calculate([r], 1.0, [99], new GoodputConfig(null, null, null), text => text.Split(' ').Length);
        Assert.Equal(4, m.TotalOutput);
        Assert.Equal((0.3 - 0.1) / 3 * 1000, m.Tpot.MeanMs, Tolerance);
    }

    [Fact]
    public void Calculate_Goodput_CountsRequestsMeetingEverySlo()
    {
        RequestResult[] results =
        [
            Stream(0, 0.1, [0.05], 0.2, usage: 3),  // ttft 100 ms, tpot 50 ms: good
            Stream(0, 0.3, [0.05], 0.4, usage: 3),  // ttft 300 ms: misses the TTFT SLO
            Stream(0, 0.1, [0.3], 0.7, usage: 3),   // tpot 300 ms: misses the TPOT SLO
            Stream(0, 0.05, [], 0.05, usage: 1),    // one token: tpot counted as 0, good
        ];
        var m = BenchmarkMetrics.Calculate(results, 2.0, [99], GoodputConfig.Parse(["ttft:200", "tpot:100"]), null);
        Assert.Equal(2 / 2.0, m.RequestGoodput, Tolerance);
        // The one-token request is left out of the TPOT statistics.
        Assert.Equal((50.0 + 50.0 + 300.0) / 3, m.Tpot.MeanMs, Tolerance);
    }

    [Fact]
    public void GoodputParse_BadInput_Throws()
    {
        Assert.Throws<ArgumentException>(() => GoodputConfig.Parse(["ttft=5"]));
        Assert.Throws<ArgumentException>(() => GoodputConfig.Parse(["itl:5"]));
        Assert.Throws<ArgumentException>(() => GoodputConfig.Parse(["e2el:-1"]));
        Assert.Equal(new GoodputConfig(1.5, null, 3000), GoodputConfig.Parse(["ttft:1.5", "e2el:3000"]));
    }

    [Fact]
    public void Calculate_AllFailed_ZeroStats()
    {
        var m = BenchmarkMetrics.Calculate([new RequestResult { Error = "x" }], 1.0, [99], new GoodputConfig(null, null, null), null);
        Assert.Equal(0, m.Completed);
        Assert.Equal(0, m.Ttft.MeanMs);
        Assert.Equal(0, m.MaxOutputTokensPerSecond);
    }
}
