using VllmSharp.Kernels;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public class ArgMaxTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(151_936)]
    public void Find_RandomValues_MatchesReference(int length)
    {
        var rng = new Random(length);
        for (int trial = 0; trial < 5; trial++)
        {
            var x = new float[length];
            for (int i = 0; i < length; i++) x[i] = (float)rng.NextDouble();
            Assert.Equal(ReferenceArgMax.Find(x), ArgMax.Find(x));
        }
    }

    [Fact]
    public void Find_Ties_ReturnsLowestIndex()
    {
        var x = new float[100];
        x[77] = 5f;
        x[40] = 5f;
        x[41] = 5f; // same vector lane group as 40: the lane scan must still prefer the first
        x[3] = 4.999f;
        Assert.Equal(40, ArgMax.Find(x));
        Assert.Equal(0, ArgMax.Find(new float[50])); // all equal
    }

    [Fact]
    public void Find_NaNEntries_Ignored()
    {
        var x = new float[40];
        for (int i = 0; i < x.Length; i++) x[i] = i;
        x[39] = float.NaN;
        x[0] = float.NaN;
        x[20] = float.NaN;
        Assert.Equal(38, ArgMax.Find(x));
        Assert.Equal(ReferenceArgMax.Find(x), ArgMax.Find(x));
        Assert.Equal(2, ArgMax.Find([float.NaN, -1f, 3f, float.NaN]));
    }

    [Fact]
    public void Find_OnlyNaNOrNegativeInfinity_ReturnsFirstUsable()
    {
        Assert.Equal(0, ArgMax.Find([float.NaN, float.NaN, float.NaN]));
        Assert.Equal(1, ArgMax.Find([float.NaN, float.NegativeInfinity, float.NegativeInfinity]));
    }

    [Fact]
    public void Find_Empty_Throws() => Assert.Throws<ArgumentException>(() => ArgMax.Find(ReadOnlySpan<float>.Empty));
}
