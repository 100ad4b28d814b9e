using VllmSharp.Kernels;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public class SoftmaxTests
{
    // exp within ~2 ulp and an f32 sum over ≤ 150k terms: probabilities agree to ~1e-6 relative; 1e-5 leaves margin.
    private const float RelTol = 1e-5f, AbsTol = 1e-9f;

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(45)]
    [InlineData(151_936)] // a Qwen2 vocabulary row
    public void Forward_RandomLogits_MatchesReferenceAndSumsToOne(int length)
    {
        var rng = new Random(length);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 40 - 20);
        float[] expected = (float[])x.Clone();
        ReferenceSoftmax.Forward(expected);
        Softmax.Forward(x);
        double sum = 0;
        for (int i = 0; i < length; i++)
        {
            Assert.True(Math.Abs(expected[i] - x[i]) <= AbsTol + RelTol * expected[i], $"index {i}: expected {expected[i]}, got {x[i]}");
            sum += x[i];
        }
        Assert.True(Math.Abs(sum - 1) <= 1e-4, $"sum {sum}");
    }

    [Fact]
    public void Forward_NegativeInfinityEntries_BecomeZero()
    {
        var x = new float[37];
        for (int i = 0; i < x.Length; i++) x[i] = i % 3 == 0 ? float.NegativeInfinity : i * 0.1f;
        float[] expected = (float[])x.Clone();
        ReferenceSoftmax.Forward(expected);
        Softmax.Forward(x);
        for (int i = 0; i < x.Length; i++)
        {
            if (i % 3 == 0) Assert.Equal(0f, x[i]);
            else Assert.True(Math.Abs(expected[i] - x[i]) <= RelTol * expected[i], $"index {i}");
        }
    }

    [Fact]
    public void Forward_AllNegativeInfinity_AllZero()
    {
        var x = new float[20];
        Array.Fill(x, float.NegativeInfinity);
        Softmax.Forward(x);
        Assert.All(x, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Forward_HugeLogits_NoOverflow()
    {
        float[] x = [1e30f, 1e30f, 0f, -1e30f, 1e30f - 1e24f, 3e38f, 3e38f, 2e38f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f];
        Softmax.Forward(x);
        Assert.All(x, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0.5f, x[5]);
        Assert.Equal(0.5f, x[6]);
        Assert.Equal(0f, x[0]);
    }

    [Fact]
    public void Forward_Empty_DoesNothing() => Softmax.Forward(Span<float>.Empty);
}
