using VllmSharp.Kernels.Quant;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

public sealed unsafe class ActivationQuantizerTests
{
    /// <summary>
    /// The vector path must reproduce the scalar loop bit for bit (codes, scales, sums): the kernels' results for a
    /// row must not depend on which path quantized it. Inputs include exact .5 midpoints (values k + 0.5 times the
    /// step, with amax = 127 steps so the step is exactly 1), an all-zero block and huge/tiny magnitudes.
    /// </summary>
    [Fact]
    public void Quantize_VectorPath_EqualsScalarLoopExactly()
    {
        const int n = 32 * 40;
        var rng = new Random(8);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 4 - 2) * (i / 32 % 5 == 0 ? 1e-20f : 1f) * (i / 32 % 7 == 0 ? 1e20f : 1f);
        for (int i = 64; i < 96; i++) x[i] = 0; // zero block: scale 0, codes 0
        for (int i = 96; i < 128; i++) x[i] = i == 96 ? 127f : (i % 2 == 0 ? 1 : -1) * ((i - 96) % 127 + 0.5f); // midpoints
        Assert.Equal(Run(x, scalar: true), Run(x, scalar: false));
    }

    private static string Run(float[] x, bool scalar)
    {
        int n = x.Length;
        sbyte[] q = new sbyte[n];
        float[] scale = new float[n / 32], sum16 = new float[n / 16];
        int[] blockSums = new int[n / 32];
        bool saved = ActivationQuantizer.ForceScalar;
        ActivationQuantizer.ForceScalar = scalar;
        try
        {
            fixed (float* px = x)
            fixed (sbyte* pq = q)
            fixed (float* ps = scale)
            fixed (float* pu = sum16)
            fixed (int* pb = blockSums)
                ActivationQuantizer.Quantize(px, n, pq, ps, pu, pb);
        }
        finally { ActivationQuantizer.ForceScalar = saved; }
        // One string of every output (floats as raw bits) so a mismatch shows where.
        return string.Join(",", q) + "|" + string.Join(",", Array.ConvertAll(scale, BitConverter.SingleToInt32Bits))
            + "|" + string.Join(",", Array.ConvertAll(sum16, BitConverter.SingleToInt32Bits)) + "|" + string.Join(",", blockSums);
    }
}
