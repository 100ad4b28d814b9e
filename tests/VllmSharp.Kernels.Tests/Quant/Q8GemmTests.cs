using VllmSharp.Kernels.Quant;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

/// <summary>
/// The batched Q8_0 × int8 kernel (<see cref="Q8Gemm"/>): its activation layout, its results against a scalar model of
/// the canonical summation order (bitwise: integer block sums are exact and every float operation is specified), and
/// batch invariance through <see cref="MatMul.Forward(ReadOnlySpan{float}, int, WeightMatrix, Span{float})"/>.
/// </summary>
public sealed unsafe class Q8GemmTests
{
    [Theory]
    [InlineData(8, 64)]
    [InlineData(13, 96)]
    [InlineData(16, 288)]
    public void Pack_Rows_LayoutMatchesDefinition(int m, int cols)
    {
        var rng = new Random(700 + m);
        Quantized q = Quantize(QuantTestData.Activations(rng, m * cols), m, cols);
        int blocks = cols / 32, groups = (m + 7) / 8;
        sbyte[] codes = new sbyte[Q8GemmActivations.CodeBytes(m, cols)];
        int[] offsets = new int[Q8GemmActivations.BlockEntries(m, cols)];
        float[] scales = new float[offsets.Length];
        fixed (sbyte* qx = q.Codes, pc = codes)
        fixed (float* dx = q.Scales, ps = scales)
        fixed (int* bs = q.BlockSums, po = offsets)
            Q8GemmActivations.Pack(qx, dx, bs, m, cols, pc, po, ps);
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
                for (int l = 0; l < 8; l++)
                {
                    int i = 8 * g + l, e = (g * blocks + b) * 8 + l;
                    bool real = i < m;
                    Assert.Equal(real ? -128 * q.BlockSums[i * blocks + b] : 0, offsets[e]);
                    Assert.Equal(real ? q.Scales[i * blocks + b] : 0f, scales[e]);
                    for (int step = 0; step < 8; step++)
                        for (int c = 0; c < 4; c++)
                        {
                            sbyte expected = real ? q.Codes[i * cols + 32 * b + 4 * step + c] : (sbyte)0;
                            Assert.Equal(expected, codes[(g * blocks + b) * 256 + 32 * step + 4 * l + c]);
                        }
                }
    }

    /// <summary>
    /// Every output equals, bit for bit, the scalar model: exact integer block dot, f32 FMA into partial b mod 8 with
    /// scale dw·dx, then ((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7)). Shapes cover partial activation groups,
    /// an odd group count, weight-row tails (rows not a multiple of 4), fewer than 8 blocks and a partial block class.
    /// </summary>
    [Theory]
    [InlineData(6, 1, 32)]
    [InlineData(8, 5, 96)]
    [InlineData(16, 19, 160)]
    [InlineData(17, 7, 288)]
    [InlineData(40, 6, 896)]
    [InlineData(70, 9, 256)]
    public void RowRange_MatchesScalarModelBitwise(int m, int rows, int cols)
    {
        if (!Q8Gemm.IsSupported) return; // AVX-VNNI only; other tiers never call it
        var rng = new Random(800 + m * 31 + rows + cols);
        using var w = new QuantWeight(rng, DType.Q8_0, rows, cols);
        Quantized q = Quantize(QuantTestData.Activations(rng, m * cols), m, cols);
        float[] y = new float[m * rows];
        sbyte[] codes = new sbyte[Q8GemmActivations.CodeBytes(m, cols)];
        int[] offsets = new int[Q8GemmActivations.BlockEntries(m, cols)];
        float[] scales = new float[offsets.Length];
        fixed (sbyte* qx = q.Codes, pc = codes)
        fixed (float* dx = q.Scales, ps = scales, py = y)
        fixed (int* bs = q.BlockSums, po = offsets)
        {
            Q8GemmActivations act = Q8GemmActivations.Pack(qx, dx, bs, m, cols, pc, po, ps);
            long rowBytes = DType.Q8_0.RowBytes(cols);
            // Two calls over split row ranges, as the parallel loop issues them.
            Q8Gemm.RowRange((byte*)w.Matrix.Data, rowBytes, 0, rows / 2, act, py, rows);
            Q8Gemm.RowRange((byte*)w.Matrix.Data, rowBytes, rows / 2, rows, act, py, rows);
        }
        for (int i = 0; i < m; i++)
            for (int r = 0; r < rows; r++)
                Assert.Equal(Model(w.Matrix, r, q, i), y[i * rows + r]);
    }

    /// <summary>
    /// A row's output must not depend on its batch: each row of decode-sized (6, 16) and prefill-sized (17, 64, 130)
    /// batches equals the m = 1 call (the row-by-row GEMV kernel) bit for bit; 130 rows span several group blocks.
    /// </summary>
    [Theory]
    [InlineData(6, 160)]
    [InlineData(16, 896)]
    [InlineData(17, 4864)]
    [InlineData(64, 288)]
    [InlineData(130, 96)]
    public void Forward_Q8_0BatchRows_EqualSingleRowCallsBitwise(int m, int cols)
    {
        // Without AVX-VNNI, batches over 16 rows take the dequantizing f32 GEMM, which is not meant to match m = 1.
        if (!Q8Gemm.IsSupported) return;
        var rng = new Random(900 + m + cols);
        const int rows = 23;
        using var w = new QuantWeight(rng, DType.Q8_0, rows, cols);
        float[] x = QuantTestData.Activations(rng, m * cols);
        float[] batch = new float[m * rows];
        MatMul.Forward(x, m, w.Matrix, batch);
        float[] single = new float[rows];
        for (int i = 0; i < m; i++)
        {
            MatMul.Forward(x.AsSpan(i * cols, cols), 1, w.Matrix, single);
            for (int r = 0; r < rows; r++) Assert.Equal(single[r], batch[i * rows + r]);
        }
    }

    private static float Model(WeightMatrix w, int r, Quantized q, int i)
    {
        int cols = w.Cols, blocks = cols / 32;
        byte* row = (byte*)w.Data + r * DType.Q8_0.RowBytes(cols);
        float* p = stackalloc float[8];
        for (int j = 0; j < 8; j++) p[j] = 0;
        for (int b = 0; b < blocks; b++)
        {
            byte* block = row + 34 * b;
            int dot = 0;
            for (int c = 0; c < 32; c++) dot += (sbyte)block[2 + c] * q.Codes[i * cols + 32 * b + c];
            float dw = (float)BitConverter.UInt16BitsToHalf((ushort)(block[0] | block[1] << 8));
            p[b % 8] = MathF.FusedMultiplyAdd(dot, dw * q.Scales[i * blocks + b], p[b % 8]);
        }
        return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
    }

    private sealed record Quantized(sbyte[] Codes, float[] Scales, int[] BlockSums);

    private static Quantized Quantize(float[] x, int m, int cols)
    {
        int blocks = cols / 32;
        var q = new Quantized(new sbyte[m * cols], new float[m * blocks], new int[m * blocks]);
        float[] halfSums = new float[2 * blocks];
        fixed (float* px = x, pd = q.Scales, ph = halfSums)
        fixed (sbyte* pq = q.Codes)
        fixed (int* pb = q.BlockSums)
            for (int i = 0; i < m; i++)
                ActivationQuantizer.Quantize(px + i * cols, cols, pq + i * cols, pd + i * blocks, ph, pb + i * blocks);
        return q;
    }
}
