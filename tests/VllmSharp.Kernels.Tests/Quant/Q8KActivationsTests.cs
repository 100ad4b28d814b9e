using System.Runtime.InteropServices;
using VllmSharp.Kernels.Quant;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

public sealed unsafe class Q8KActivationsTests
{
    /// <summary>
    /// Per 256 values: d = amax/127 exactly as computed in f32, codes within ±127, each code·d within d/2 of x (the
    /// codes k·d, |k| ≤ 127, cover [−amax, amax] in steps of d, so the nearest is ≤ d/2 = amax/254 away; a 1e-6
    /// relative slack covers the f32 rounding of x·(127/amax)), sums per 16 equal to the codes' sums, and the Q4_K
    /// copy is the stated permutation. Checked for the vector and the scalar path, which must agree bit for bit.
    /// </summary>
    [Theory]
    [InlineData(1, 256)]
    [InlineData(3, 768)]
    [InlineData(5, 2048)]
    public void Quantize_VectorAndScalar_MatchDefinitionBitwise(int m, int cols)
    {
        var rng = new Random(40 + m + cols);
        float[] x = QuantTestData.Activations(rng, m * cols);
        for (int i = 0; i < 16; i++) x[i] = 0; // a zero sub-block
        for (int i = 256; i < Math.Min(x.Length, 512); i++) x[i] *= 1e-30f; // tiny values: codes still span ±127
        if (cols >= 768) x[600] = 1e6f; // one outlier dominates its block's scale
        byte[] vector = Quantize(x, m, cols, scalar: false, out long regionOffset);
        byte[] scalar = Quantize(x, m, cols, scalar: true, out long scalarOffset);
        Assert.Equal(vector.AsSpan((int)regionOffset, (int)Q8KActivations.Bytes(m, cols) - 64).ToArray(),
            scalar.AsSpan((int)scalarOffset, (int)Q8KActivations.Bytes(m, cols) - 64).ToArray());

        fixed (byte* buffer = vector)
        {
            sbyte* region = (sbyte*)buffer + regionOffset;
            for (int i = 0; i < m; i++)
            {
                sbyte* q = Q8KActivations.Codes(region, cols, i), p = Q8KActivations.Q4KOrder(region, m, cols, i);
                float* d = Q8KActivations.Scales(region, m, cols, i);
                short* sums = Q8KActivations.Sums16(region, m, cols, i);
                for (int b = 0; b < cols / 256; b++)
                {
                    float amax = 0;
                    for (int c = 0; c < 256; c++) amax = MathF.Max(amax, MathF.Abs(x[i * cols + 256 * b + c]));
                    Assert.Equal(amax / 127f, d[b]);
                    for (int j = 0; j < 16; j++)
                    {
                        int sum = 0;
                        for (int c = 16 * j; c < 16 * j + 16; c++)
                        {
                            int code = q[256 * b + c];
                            Assert.InRange(code, -127, 127);
                            double err = Math.Abs(code * (double)d[b] - x[i * cols + 256 * b + c]);
                            Assert.True(err <= d[b] / 2 * (1 + 1e-6), $"row {i} value {256 * b + c}: err {err:g3} > d/2 = {d[b] / 2:g3}");
                            sum += code;
                        }
                        Assert.Equal(sum, sums[16 * m * b + j]);
                    }
                }
                for (int c = 0; c < cols; c++)
                {
                    // Position within 128: [0..32) ← 0..32, [32..64) ← 64..96, [64..96) ← 32..64, [96..128) ← 96..128.
                    int within = c % 128, source = c - within + (within / 32) switch { 1 => within + 32, 2 => within - 32, _ => within };
                    Assert.Equal(q[source], p[c]);
                }
            }
        }
    }

    [Fact]
    public void Quantize_ColsNotMultipleOf256_ReservesAndWritesNothing()
    {
        Assert.Equal(0, Q8KActivations.Bytes(4, 896));
        Assert.Equal(Q8KActivations.Offset(4, 896), QuantMatMul.ActivationBytes(4, 896));
    }

    private static byte[] Quantize(float[] x, int m, int cols, bool scalar, out long regionOffset)
    {
        byte[] buffer = GC.AllocateArray<byte>(QuantMatMul.ActivationBytes(m, cols), pinned: true); // the region offset depends on the address
        bool saved = ActivationQuantizer.ForceScalar;
        ActivationQuantizer.ForceScalar = scalar;
        try
        {
            fixed (byte* pb = buffer)
            fixed (float* px = x)
            {
                sbyte* region = Q8KActivations.Region((sbyte*)pb, m, cols);
                regionOffset = region - (sbyte*)pb;
                Q8KActivations.Quantize(px, m, cols, region);
            }
        }
        finally { ActivationQuantizer.ForceScalar = saved; }
        return buffer;
    }
}
