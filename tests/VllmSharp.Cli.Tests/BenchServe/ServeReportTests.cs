using System.Text.Json.Nodes;
using VllmSharp.Cli.BenchServe;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

public class ServeReportTests
{
    [Fact]
    public void Center_Headers_MatchVllmRules()
    {
        Assert.Equal("============ Serving Benchmark Result ============", ServeReport.Center(" Serving Benchmark Result ", '='));
        Assert.Equal("---------------Time to First Token----------------", ServeReport.Center("Time to First Token", '-'));
        Assert.Equal("-----Time per Output Token (excl. 1st token)------", ServeReport.Center("Time per Output Token (excl. 1st token)", '-'));
        Assert.Equal("---------------Inter-token Latency----------------", ServeReport.Center("Inter-token Latency", '-'));
    }

    [Fact]
    public void Row_PadsLabelTo40AndValueTo10()
        => Assert.Equal("Successful requests:                     8         ", ServeReport.Row("Successful requests:", "8"));

    [Theory]
    [InlineData(99.0, "99")]
    [InlineData(99.9, "99.9")]
    [InlineData(50.0, "50")]
    public void PercentWord_AsVllmSpellsIt(double p, string expected) => Assert.Equal(expected, ServeReport.PercentWord(p));

    [Theory]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(2.0, "2.0")]
    [InlineData(0.5, "0.5")]
    public void PythonFloat_AsPythonPrints(double value, string expected) => Assert.Equal(expected, ServeReport.PythonFloat(value));

    [Fact]
    public void Write_SelectedMetrics_LinesAndJsonKeys()
    {
        var summary = new MetricSummary(1.234, 2.0, 0.5, [(99.0, 3.5)]);
        var metrics = new BenchmarkMetrics
        {
            Completed = 8,
            TotalInput = 128,
            TotalOutput = 64,
            RequestThroughput = 2,
            OutputThroughput = 16,
            TotalTokenThroughput = 48,
            RequestGoodput = 1,
            Ttft = summary,
            Tpot = summary,
            Itl = summary,
            E2el = summary,
            OutputLens = [],
        };
        var output = new StringWriter();
        var json = new JsonObject();
        ServeReport.Write(output, metrics, 4.0, 4, double.PositiveInfinity, GoodputConfig.Parse(["ttft:10"]), ["ttft", "e2el"], json);
        string[] lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("Total generated tokens:                  64        ", lines);
        Assert.Contains("Benchmark duration (s):                  4.00      ", lines);
        Assert.Contains("Request goodput (req/s):                 1.00      ", lines);
        Assert.Contains("Mean TTFT (ms):                          1.23      ", lines);
        Assert.Contains("P99 E2EL (ms):                           3.50      ", lines);
        Assert.DoesNotContain(lines, l => l.Contains("TPOT", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Request rate configured", StringComparison.Ordinal));
        Assert.Equal(new string('=', 50), lines[^1]);
        foreach (string key in (string[])["completed", "total_output_tokens", "mean_ttft_ms", "median_ttft_ms", "std_ttft_ms", "p99_ttft_ms", "p99_e2el_ms", "request_goodput"])
            Assert.True(json.ContainsKey(key), key);
        Assert.False(json.ContainsKey("mean_tpot_ms"));
    }
}
