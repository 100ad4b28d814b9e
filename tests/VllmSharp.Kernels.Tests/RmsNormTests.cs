using VllmSharp.Kernels;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public class RmsNormTests
{
    // f32 sum of squares over ≤ 4096 terms vs a double reference: relative error stays ~1e-6; 1e-5 leaves margin
    // while still catching a wrong eps, mean or weight (those are off by ≥ 1e-3).
    private const float RelTol = 1e-5f, AbsTol = 1e-6f;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 37)]
    [InlineData(2, 896)]
    [InlineData(4, 4099)]
    public void Forward_RowsOfOddLengths_MatchesReference(int rows, int dim)
    {
        var rng = new Random(rows * 1000 + dim);
        float[] x = RandomArray(rng, rows * dim, 3f), w = RandomArray(rng, dim, 2f);
        var actual = new float[x.Length];
        var expected = new float[x.Length];
        RmsNorm.Forward(x, w, 1e-6f, actual);
        ReferenceRmsNorm.Forward(x, w, 1e-6f, expected);
        AssertClose(expected, actual);
    }

    [Fact]
    public void Forward_ManyRows_ParallelPathMatchesReference()
    {
        var rng = new Random(7);
        const int rows = 67, dim = 1024; // 68k elements: above the parallel threshold
        float[] x = RandomArray(rng, rows * dim, 1f), w = RandomArray(rng, dim, 1f);
        var actual = new float[x.Length];
        var expected = new float[x.Length];
        RmsNorm.Forward(x, w, 1e-5f, actual);
        ReferenceRmsNorm.Forward(x, w, 1e-5f, expected);
        AssertClose(expected, actual);
    }

    [Fact]
    public void Forward_InPlace_EqualsOutOfPlace()
    {
        var rng = new Random(11);
        float[] x = RandomArray(rng, 3 * 53, 2f), w = RandomArray(rng, 53, 1f);
        var outOfPlace = new float[x.Length];
        RmsNorm.Forward(x, w, 1e-6f, outOfPlace);
        RmsNorm.Forward(x, w, 1e-6f, x);
        Assert.Equal(outOfPlace, x);
    }

    [Fact]
    public void Forward_EpsDominatesZeroRow_GivesZero()
    {
        var x = new float[8];
        var y = new float[8];
        RmsNorm.Forward(x, [1, 1, 1, 1, 1, 1, 1, 1], 1e-6f, y);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void AddAndForward_UpdatesResidualAndNormalizesSum()
    {
        var rng = new Random(3);
        const int rows = 3, dim = 45;
        float[] residual = RandomArray(rng, rows * dim, 1f), x = RandomArray(rng, rows * dim, 1f), w = RandomArray(rng, dim, 1f);
        float[] expectedResidual = (float[])residual.Clone();
        var expected = new float[residual.Length];
        ReferenceRmsNorm.AddAndForward(expectedResidual, x, w, 1e-6f, expected);

        var actual = new float[residual.Length];
        RmsNorm.AddAndForward(residual, x, w, 1e-6f, actual);

        Assert.Equal(expectedResidual, residual); // a single f32 add per element: exact
        AssertClose(expected, actual);
    }

    [Fact]
    public void AddAndForward_OutputAliasesInput_StillCorrect()
    {
        var rng = new Random(5);
        float[] residual = RandomArray(rng, 2 * 33, 1f), x = RandomArray(rng, 2 * 33, 1f), w = RandomArray(rng, 33, 1f);
        float[] residualCopy = (float[])residual.Clone();
        var expected = new float[x.Length];
        RmsNorm.AddAndForward(residualCopy, x, w, 1e-6f, expected);
        RmsNorm.AddAndForward(residual, x, w, 1e-6f, x);
        Assert.Equal(expected, x);
    }

    [Fact]
    public void Forward_LengthNotMultipleOfWeight_Throws()
    {
        Assert.Throws<ArgumentException>(() => RmsNorm.Forward(new float[10], new float[3], 1e-6f, new float[10]));
        Assert.Throws<ArgumentException>(() => RmsNorm.Forward(new float[9], new float[3], 1e-6f, new float[6]));
    }

    private static float[] RandomArray(Random rng, int length, float range)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * range;
        return a;
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= AbsTol + RelTol * Math.Abs(expected[i]),
                $"index {i}: expected {expected[i]}, got {actual[i]}");
    }
}
