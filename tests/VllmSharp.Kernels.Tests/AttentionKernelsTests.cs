using Xunit;

namespace VllmSharp.Kernels.Tests;

/// <summary>
/// The blocked attention loops, for every count around the 4-key step and head sizes on and off the vector widths:
/// scores equal exact dot products within f32 rounding and do not depend on the other keys of the run (so prefill and
/// decode rows agree bitwise); the value sum is bitwise the per-key multiply-add it replaced.
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
    public void Scores_MatchExactDotsAndDependOnlyOnTheirKey(int headDim, int count)
    {
        var rng = new Random(headDim * 31 + count);
        float[] q = Values(rng, headDim), keys = Values(rng, count * headDim);
        float[] together = new float[count + 1], alone = new float[count];
        together[count] = 42f; // nothing past count is written
        const float scale = 0.125f;
        fixed (float* pq = q, pk = keys, pt = together, pa = alone)
        {
            AttentionKernels.Scores(pq, pk, count, headDim, scale, pt);
            for (int j = 0; j < count; j++) AttentionKernels.Scores(pq, pk + j * headDim, 1, headDim, scale, pa + j);
        }
        Assert.Equal(42f, together[count]);
        for (int j = 0; j < count; j++)
        {
            // Bitwise the same whether the key came alone or among others (batch invariance of attention rows).
            Assert.Equal(alone[j], together[j]);
            double exact = 0;
            for (int d = 0; d < headDim; d++) exact += (double)q[d] * keys[j * headDim + d];
            // f32 sums of ≤ 128 products of values in [−1, 1]: error far below 1e-5 (a wrong lane or key is ≥ 1e-2).
            Assert.True(Math.Abs(exact * scale - together[j]) < 1e-5, $"key {j}: {together[j]} vs {exact * scale}");
        }
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
