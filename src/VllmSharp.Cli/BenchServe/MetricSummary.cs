namespace VllmSharp.Cli.BenchServe;

/// <summary>Mean, median, standard deviation and the selected percentiles of one latency metric, in milliseconds.</summary>
public sealed record MetricSummary(double MeanMs, double MedianMs, double StdMs, IReadOnlyList<(double Percent, double ValueMs)> PercentilesMs)
{
    public static MetricSummary Of(IReadOnlyList<double> seconds, IReadOnlyList<double> percentiles)
    {
        var selected = new (double, double)[percentiles.Count];
        for (int i = 0; i < percentiles.Count; i++) selected[i] = (percentiles[i], Stats.Percentile(seconds, percentiles[i]) * 1000);
        return new MetricSummary(Stats.Mean(seconds) * 1000, Stats.Median(seconds) * 1000, Stats.Std(seconds) * 1000, selected);
    }
}
