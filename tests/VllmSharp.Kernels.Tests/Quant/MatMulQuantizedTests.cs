using System.Runtime.Intrinsics;
using VllmSharp.Kernels.Quant;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

/// <summary>MatMul.Forward with block-quantized weights, alone and fused with other quantized and float weights.</summary>
public sealed class MatMulQuantizedTests
{
    public static TheoryData<int, DType, int> TierTypeAndM()
    {
        var data = new TheoryData<int, DType, int>();
        foreach (int tier in new[] { 1, 2, 3 })
            foreach (DType type in new[] { DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K, DType.Q5_0 })
                foreach (int m in new[] { 1, 3, 17, 64 })
                    data.Add(tier, type, m);
        return data;
    }

    [Theory]
    [MemberData(nameof(TierTypeAndM))]
    public void Forward_QuantizedWeightEveryTier_MatchesDequantizedReference(int tier, DType type, int m)
    {
        if (!TierSupported(tier)) return; // the DOTNET_EnableAVX512F=0 / EnableAVX2=0 runs cover the other machines
        var rng = new Random(300 + 16 * tier + 4 * (int)type + m);
        int cols = type.BlockSize() == 32 ? 160 : 512;
        using var w = new QuantWeight(rng, type, 75, cols);
        float[] x = QuantTestData.Activations(rng, m * cols);
        float[] y = Run(x, m, [w.Matrix], tier);
        AssertWithinBound(x, m, [w], y, $"tier {tier} {type} m={m}");
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 3)]
    [InlineData(0, 17)]
    [InlineData(0, 64)]
    [InlineData(1, 3)]
    [InlineData(2, 17)]
    [InlineData(3, 64)]
    public void Forward_FusedMixedTypes_MatchesDequantizedReference(int tier, int m)
    {
        if (!TierSupported(tier)) return;
        var rng = new Random(400 + 100 * tier + m);
        const int cols = 512;
        // q/k/v-like fusion mixing every quantized type with float weights, uneven row counts.
        using var a = new QuantWeight(rng, DType.Q4_K, 70, cols);
        using var b = new QuantWeight(rng, DType.Q6_K, 9, cols);
        using var c = new QuantWeight(rng, DType.BF16, 33, cols);
        using var d = new QuantWeight(rng, DType.Q8_0, 41, cols);
        using var e = new QuantWeight(rng, DType.Q4_0, 16, cols);
        using var f = new QuantWeight(rng, DType.F32, 5, cols);
        using var g = new QuantWeight(rng, DType.Q5_0, 23, cols);
        QuantWeight[] all = [a, b, c, d, e, f, g];
        float[] x = QuantTestData.Activations(rng, m * cols);
        float[] y = Run(x, m, [a.Matrix, b.Matrix, c.Matrix, d.Matrix, e.Matrix, f.Matrix, g.Matrix], tier);
        AssertWithinBound(x, m, all, y, $"fused tier {tier} m={m}");

        // Fusion must not change any block: each equals the single-weight call bit for bit (same quantized
        // activations, same kernels, rows independent of how the work is split).
        long offset = 0;
        foreach (QuantWeight w in all)
        {
            float[] single = Run(x, m, [w.Matrix], tier);
            for (int i = 0; i < single.Length; i++)
                Assert.Equal(single[i], y[offset + i]);
            offset += single.Length;
        }
    }

    /// <summary>
    /// The GEMM path dequantizes weight panels to f32 and multiplies the exact activations, so it must match the
    /// dequantized reference to the f32 accumulation budget alone (1e-5·Σ|x·w|): any wrongly dequantized element shows.
    /// </summary>
    [Theory]
    [InlineData(1, DType.Q8_0)]
    [InlineData(2, DType.Q4_0)]
    [InlineData(3, DType.Q4_K)]
    [InlineData(3, DType.Q6_K)]
    [InlineData(2, DType.Q6_K)]
    [InlineData(3, DType.Q8_0)]
    [InlineData(3, DType.Q5_0)]
    [InlineData(1, DType.Q5_0)]
    public void Forward_GemmPath_MatchesDequantizedReferenceToF32Accuracy(int tier, DType type)
    {
        if (!TierSupported(tier)) return;
        var rng = new Random(500 + 10 * tier + (int)type);
        const int m = 20, rows = 150, cols = 768; // 768: KC blocks of 512 leave a 256-value tail panel
        using var w = new QuantWeight(rng, type, rows, cols);
        float[] x = QuantTestData.Activations(rng, m * cols);
        int savedPath = MatMul.ForcedPath;
        MatMul.ForcedPath = 2;
        float[] y;
        try { y = Run(x, m, [w.Matrix], tier); }
        finally { MatMul.ForcedPath = savedPath; }
        for (int i = 0; i < m; i++)
            for (int r = 0; r < rows; r++)
            {
                double expected = 0, absSum = 0;
                for (int c = 0; c < cols; c++)
                {
                    double p = (double)w.Dequantized[r * cols + c] * x[i * cols + c];
                    expected += p;
                    absSum += Math.Abs(p);
                }
                Assert.True(Math.Abs(y[i * rows + r] - expected) <= 1e-5 * absSum, $"tier {tier} {type} y[{i},{r}]={y[i * rows + r]} ref={expected}");
            }
    }

    /// <summary>
    /// A row's output must not depend on the batch it came in (the multi-row kernels take rows four at a time):
    /// each row of an m = 7 call equals the m = 1 call on that row, bit for bit. k = 160 and 4864 exercise the
    /// masked last group (5 and 152 = 19·8 blocks; 4864 also the unmasked path only).
    /// </summary>
    [Theory]
    [InlineData(DType.Q8_0, 160)]
    [InlineData(DType.Q4_0, 160)]
    [InlineData(DType.Q8_0, 4864)]
    [InlineData(DType.Q4_0, 4864)]
    [InlineData(DType.Q5_0, 160)]
    [InlineData(DType.Q5_0, 4864)]
    [InlineData(DType.Q4_K, 512)]
    [InlineData(DType.Q6_K, 512)]
    public void Forward_RowsOfABatch_EqualSingleRowCallsBitwise(DType type, int cols)
    {
        var rng = new Random(600 + cols + (int)type);
        const int m = 7, rows = 19;
        using var w = new QuantWeight(rng, type, rows, cols);
        float[] x = QuantTestData.Activations(rng, m * cols);
        float[] batch = Run(x, m, [w.Matrix], 0);
        for (int i = 0; i < m; i++)
        {
            float[] single = Run(x.AsSpan(i * cols, cols).ToArray(), 1, [w.Matrix], 0);
            for (int r = 0; r < rows; r++) Assert.Equal(single[r], batch[i * rows + r]);
        }
    }

    [Fact]
    public void Forward_QuantizedKNotMultipleOfBlock_ThrowsArgumentException()
    {
        using var w = new QuantWeight(new Random(1), DType.Q8_0, 2, 64);
        WeightMatrix bad = w.Matrix with { Cols = 48 };
        Assert.Throws<ArgumentException>(() => MatMul.Forward(new float[48], 1, bad, new float[2]));
    }

    [Fact]
    public void Forward_ZeroActivations_GiveZeros()
    {
        using var w = new QuantWeight(new Random(2), DType.Q4_K, 9, 256);
        float[] y = Run(new float[2 * 256], 2, [w.Matrix], 0);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    /// <summary>
    /// Reference: the dequantized weights times the exact f32 activations, accumulated in double. Quantized weights
    /// see the activations rounded to 8 bits per 32-value block (each moves by ≤ step/2, step = amax₃₂/127), so
    /// |Δ| ≤ Σ_c |w_c|·step_c/2 + 1e-5·Σ|x·w| (f32 accumulation, as the f32 MatMul tests). Float weights get the
    /// 1e-5·Σ|x·w| term only. A wrong code, scale, nibble, block or row is orders of magnitude larger.
    /// </summary>
    private static void AssertWithinBound(float[] x, int m, QuantWeight[] weights, float[] y, string what)
    {
        int cols = weights[0].Matrix.Cols;
        long offset = 0;
        foreach (QuantWeight w in weights)
        {
            int rows = w.Matrix.Rows;
            bool quantized = w.Matrix.Type.IsQuantized();
            for (int i = 0; i < m; i++)
                for (int r = 0; r < rows; r++)
                {
                    double expected = 0, absSum = 0, bound = 0;
                    for (int c = 0; c < cols; c++)
                    {
                        double wc = w.Dequantized[r * cols + c], xc = x[i * cols + c];
                        expected += wc * xc;
                        absSum += Math.Abs(wc * xc);
                        if (quantized) bound += Math.Abs(wc) * StepOf(x, i * cols + c, ActivationBlock(w.Matrix.Type)) / 2;
                    }
                    float got = y[offset + (long)i * rows + r];
                    Assert.True(Math.Abs(got - expected) <= bound + 1e-5 * absSum,
                        $"{what} {w.Matrix.Type} y[{i},{r}]={got} ref={expected} bound={bound + 1e-5 * absSum:g3}");
                }
            offset += (long)m * rows;
        }
    }

    /// <summary>
    /// The activation rounding step at x[index]: one scale per 32 values, or per 256 for the K-quants, whose decode
    /// kernels read llama.cpp-style Q8_K activations (the bound then uses the larger per-256 amax, valid for both).
    /// </summary>
    private static float StepOf(float[] x, int index, int block)
    {
        int start = index / block * block;
        float amax = 0;
        for (int i = start; i < start + block; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
        return amax / 127f;
    }

    private static int ActivationBlock(DType type) => type is DType.Q4_K or DType.Q6_K ? 256 : 32;

    private static float[] Run(float[] x, int m, WeightMatrix[] weights, int tier)
    {
        long total = 0;
        foreach (WeightMatrix w in weights) total += w.Rows;
        float[] y = new float[m * total];
        int saved = MatMul.ForcedTier;
        MatMul.ForcedTier = tier;
        try { MatMul.Forward(x, m, weights, y); }
        finally { MatMul.ForcedTier = saved; }
        return y;
    }

    private static bool TierSupported(int tier) => tier switch
    {
        3 => Vector512.IsHardwareAccelerated,
        2 => Vector256.IsHardwareAccelerated,
        _ => true,
    };
}
