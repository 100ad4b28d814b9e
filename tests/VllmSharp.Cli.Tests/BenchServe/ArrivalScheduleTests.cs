using VllmSharp.Cli.BenchServe;
using Xunit;

namespace VllmSharp.Cli.Tests.BenchServe;

public class ArrivalScheduleTests
{
    private const int Samples = 100_000;

    // Over 100k samples the standard error of the mean is CV/√n ≤ 0.5 % and that of the sample CV about 1 % even for
    // the heavy-tailed shape 0.25; 3 % tolerances keep the fixed-seed test far from flaky yet catch a wrong scale
    // (e.g. 1/rate vs 1/(rate·k)) or a wrong shape, which move the mean or CV by ≥ 40 %.
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.25)]
    [InlineData(0.5)]
    [InlineData(4.0)]
    public void GammaSampler_ManySamples_MeanAndCvMatchShape(double shape)
    {
        const double rate = 2.5;
        var sampler = new GammaSampler(new Random(42));
        var gaps = new double[Samples];
        for (int i = 0; i < Samples; i++) gaps[i] = sampler.Next(shape, 1.0 / (rate * shape));
        double mean = Stats.Mean(gaps), cv = Stats.Std(gaps) / mean;
        Assert.InRange(mean, 1 / rate * 0.97, 1 / rate * 1.03);
        double expectedCv = 1 / Math.Sqrt(shape);
        Assert.InRange(cv, expectedCv * 0.97, expectedCv * 1.03);
    }

    [Fact]
    public void Offsets_InfiniteRate_AllAtZero()
        => Assert.All(ArrivalSchedule.Offsets(50, double.PositiveInfinity, 1.0, new Random(0)), t => Assert.Equal(0, t));

    [Fact]
    public void Offsets_PoissonRate_RescaledToEndAtCountOverRateAndIncreasing()
    {
        double[] offsets = ArrivalSchedule.Offsets(1000, 4.0, 1.0, new Random(1));
        Assert.Equal(1000 / 4.0, offsets[^1], 1e-9);
        for (int i = 1; i < offsets.Length; i++) Assert.True(offsets[i] >= offsets[i - 1]);
        Assert.True(offsets[0] > 0); // like vLLM, the first request also waits one gap
    }

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(0.25, 2.0)]
    [InlineData(4.0, 0.5)]
    public void Offsets_Burstiness_GapCvIsOneOverSqrtBurstiness(double burstiness, double expectedCv)
    {
        double[] offsets = ArrivalSchedule.Offsets(Samples, 10.0, burstiness, new Random(7));
        var gaps = new double[Samples];
        for (int i = 0; i < Samples; i++) gaps[i] = offsets[i] - (i == 0 ? 0 : offsets[i - 1]);
        Assert.Equal(0.1, Stats.Mean(gaps), 1e-9); // exact after rescaling
        Assert.InRange(Stats.Std(gaps) / Stats.Mean(gaps), expectedCv * 0.97, expectedCv * 1.03);
    }

    [Fact]
    public void Offsets_InfiniteBurstiness_EvenlySpaced()
    {
        double[] offsets = ArrivalSchedule.Offsets(10, 5.0, double.PositiveInfinity, new Random(0));
        for (int i = 0; i < 10; i++) Assert.Equal((i + 1) * 0.2, offsets[i], 1e-12);
    }

    [Fact]
    public void Offsets_SameSeed_SameSchedule()
        => Assert.Equal(ArrivalSchedule.Offsets(100, 3, 0.7, new Random(9)), ArrivalSchedule.Offsets(100, 3, 0.7, new Random(9)));

    [Fact]
    public void Offsets_NonPositiveBurstiness_Throws()
        => Assert.Throws<ArgumentException>(() => ArrivalSchedule.Offsets(10, 1.0, 0, new Random(0)));
}
