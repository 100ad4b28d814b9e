using VllmSharp.Cli.BenchServe;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

public class StatsTests
{
    // Expected values worked by hand from numpy's 'linear' rule (rank = p/100·(n−1)); exact up to double rounding.
    private const double Tolerance = 1e-12;

    [Theory]
    [InlineData(99, 3.97)]
    [InlineData(50, 2.5)]
    [InlineData(0, 1.0)]
    [InlineData(100, 4.0)]
    [InlineData(25, 1.75)]
    public void Percentile_FourValues_MatchesNumpyLinear(double p, double expected)
        => Assert.Equal(expected, Stats.Percentile([4.0, 1.0, 3.0, 2.0], p), Tolerance);

    [Fact]
    public void Percentile_UnevenGaps_InterpolatesBetweenNeighbours()
        => Assert.Equal(29.0, Stats.Percentile([50.0, 15.0, 40.0, 20.0, 35.0], 40), Tolerance); // rank 1.6: 20 + 0.6·15

    [Fact]
    public void MeanStdMedian_KnownSample_PopulationStd()
    {
        double[] values = [2, 4, 4, 4, 5, 5, 7, 9];
        Assert.Equal(5.0, Stats.Mean(values), Tolerance);
        Assert.Equal(2.0, Stats.Std(values), Tolerance); // ddof = 0 as np.std
        Assert.Equal(4.5, Stats.Median(values), Tolerance);
    }

    [Fact]
    public void AllStats_Empty_AreZeroAsVllmReports()
    {
        Assert.Equal(0, Stats.Mean([]));
        Assert.Equal(0, Stats.Std([]));
        Assert.Equal(0, Stats.Percentile([], 99));
    }

    [Fact]
    public void Percentile_OutOfRange_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => Stats.Percentile([1.0], 101));
}
