using Xunit;

namespace VllmSharp.Kernels.Tests;

/// <summary>
/// The blocked attention loops must give bitwise the results of the per-key helpers they replaced (the decode
/// and prefill paths, and every ISA tier, then agree exactly): every count around the 4-key step, head sizes on
/// and off the vector widths.
/// </summary>
public unsafe class AttentionKernelsTests
{
    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int headDim in new[] { 16, 32, 48, 64, 80, 96, 128, 8, 4 })
            foreach (int count in new[] { 0, 1, 3, 4, 5, 8, 15, 16, 17 })
                data.Add(headDim, count);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Scores_EqualPerKeyDotBitwise(int headDim, int count)
    {
        var rng = new Random(headDim * 31 + count);
        float[] q = Values(rng, headDim), keys = Values(rng, count * headDim);
        float[] actual = new float[count + 1], expected = new float[count + 1];
        actual[count] = expected[count] = 42f; // nothing past count is written
        const float scale = 0.125f;
        fixed (float* pq = q, pk = keys, pa = actual, pe = expected)
        {
            AttentionKernels.Scores(pq, pk, count, headDim, scale, pa);
            for (int j = 0; j < count; j++) pe[j] = ElementwiseSimd.Dot(pq, pk + j * headDim, headDim) * scale;
        }
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void WeightedSum_EqualsPerKeyMultiplyAddBitwise(int headDim, int count)
    {
        var rng = new Random(headDim * 17 + count);
        float[] values = Values(rng, count * headDim), p = Values(rng, count);
        float[] actual = Values(rng, headDim + 1), expected = (float[])actual.Clone();
        fixed (float* pv = values, pp = p, pa = actual, pe = expected)
        {
            AttentionKernels.WeightedSum(pv, pp, count, headDim, pa);
            for (int j = 0; j < count; j++) ElementwiseSimd.MultiplyAdd(pe, pv + j * headDim, pp[j], headDim);
        }
        Assert.Equal(expected, actual);
    }

    private static float[] Values(Random rng, int n)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        return values;
    }
}
