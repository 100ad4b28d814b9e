using VllmSharp.Engine.Sampling;
using Xunit;

namespace VllmSharp.Engine.Tests.Sampling;

/// <summary>Quickselect against a full sort of the same keys: the selected sets must be identical.</summary>
public sealed class CandidateSelectTests
{
    // Probabilities with many exact ties (few distinct values) so the id tie-break matters.
    private static (ulong[] Keys, ulong[] Sorted) MakeKeys(int count, int seed)
    {
        var rng = new Random(seed);
        var q = new float[count];
        for (int i = 0; i < count; i++) q[i] = rng.Next(4) == 0 ? 0.5f : (float)rng.NextDouble();
        var keys = new ulong[count];
        Assert.Equal(count, SamplingSimd.Gather(q, float.Epsilon, keys));
        var sorted = (ulong[])keys.Clone();
        Array.Sort(sorted);
        // Independent statement of the order: descending probability, then ascending token id.
        int[] expectedIds = Enumerable.Range(0, count).OrderByDescending(i => q[i]).ThenBy(i => i).ToArray();
        Assert.Equal(expectedIds, sorted.Select(SamplingSimd.KeyIndex).ToArray());
        return (keys, sorted);
    }

    [Theory]
    [InlineData(1000, 1, 1)]
    [InlineData(1000, 50, 2)]
    [InlineData(5000, 4999, 3)]
    [InlineData(40, 7, 4)]
    public void SmallestByCount_RandomKeys_SameSetAsSort(int count, int k, int seed)
    {
        var (keys, sorted) = MakeKeys(count, seed);
        CandidateSelect.SmallestByCount(keys, k);
        Assert.Equal(sorted[..k].Order(), keys[..k].Order());
    }

    [Theory]
    [InlineData(1000, 0.9, 1)]
    [InlineData(1000, 0.01, 2)]
    [InlineData(20000, 0.5, 3)]
    [InlineData(20000, 0.999, 4)]
    [InlineData(30, 0.7, 5)]
    public void SmallestByMass_RandomKeys_MinimalPrefixOfSort(int count, double fraction, int seed)
    {
        var (keys, sorted) = MakeKeys(count, seed);
        double target = fraction * sorted.Sum(k => (double)SamplingSimd.KeyValue(k));
        int expected = 0;
        for (double cum = 0; cum < target; expected++) cum += SamplingSimd.KeyValue(sorted[expected]);

        int n = CandidateSelect.SmallestByMass(keys, target);
        Assert.Equal(expected, n);
        Assert.Equal(sorted[..n].Order(), keys[..n].Order());
    }
}
