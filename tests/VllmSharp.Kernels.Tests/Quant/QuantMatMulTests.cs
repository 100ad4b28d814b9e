using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VllmSharp.Kernels.Quant;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

public sealed unsafe class QuantMatMulTests
{
    public static TheoryData<int, QuantType> TierAndType()
    {
        var data = new TheoryData<int, QuantType>();
        foreach (int tier in new[] { 1, 2, 3, 4 })
            foreach (QuantType type in QuantTestData.AllTypes)
                data.Add(tier, type);
        return data;
    }

    private static (int Rows, int Cols)[] Shapes(QuantType type) => QuantFormat.BlockElements(type) == 32
        ? [(37, 96), (130, 320), (1, 32), (16, 64), (33, 1024)]
        : [(37, 256), (17, 512), (130, 768), (1, 256)];

    /// <summary>
    /// Against the reference fed the same 8-bit-rounded activations (per 32 values, or per 256 for the AVX-512BW
    /// K-quant kernels, which read Q8_K activations), only f32 accumulation and per-block scale
    /// products differ: |Δ| ≤ 1e-5·Σ|x̂·w| (same budget as the f32 MatMul tests), plus one activation step·|w| for
    /// the rare element whose x/step lies within float rounding of a .5 midpoint and rounds the other way in f32.
    /// A wrong code, nibble, scale or block is orders of magnitude larger.
    /// </summary>
    [Theory]
    [MemberData(nameof(TierAndType))]
    public void Forward_EveryTierAndType_MatchesReferenceOnRoundedActivations(int tier, QuantType type)
    {
        if (!TierSupported(tier)) return; // the DOTNET_EnableAVX512F=0 / EnableAVX2=0 runs cover the other machines
        var rng = new Random(100 + 10 * tier + (int)type);
        foreach ((int rows, int cols) in Shapes(type))
        {
            byte[] w = QuantTestData.Quantize(QuantTestData.Weights(rng, rows * cols), type);
            float[] deq = new float[rows * cols];
            ReferenceQuant.Dequantize(w, type, deq);
            foreach (int m in new[] { 1, 3, 7 })
            {
                float[] x = QuantTestData.Activations(rng, m * cols);
                float[] xr = new float[x.Length];
                int group = ActivationGroup(type, tier);
                if (group == 256) RoundActivations8K(x, xr);
                else ReferenceQuant.RoundActivations8(x, xr);
                float[] y = Run(x, m, w, type, rows, cols, tier);
                double[] expected = new double[m * rows];
                ReferenceQuant.Forward(xr, m, w, type, rows, cols, expected);
                for (int i = 0; i < m; i++)
                    for (int r = 0; r < rows; r++)
                    {
                        double absSum = 0, flip = 0;
                        for (int c = 0; c < cols; c++)
                        {
                            float wc = deq[r * cols + c];
                            absSum += Math.Abs((double)xr[i * cols + c] * wc);
                            flip = Math.Max(flip, Math.Abs(wc) * StepOf(x, i * cols + c, group));
                        }
                        double err = Math.Abs(y[i * rows + r] - expected[i * rows + r]);
                        Assert.True(err <= 1e-5 * absSum + flip,
                            $"tier {tier} {type} {rows}x{cols} m={m} y[{i},{r}]={y[i * rows + r]} ref={expected[i * rows + r]} err={err:g3} absSum={absSum:g3}");
                    }
            }
        }
    }

    /// <summary>
    /// Against the exact f32 activations: rounding each activation to 8 bits moves it by at most step/2
    /// (step = amax₃₂/127 of its block; amax₂₅₆/127 for the Q8_K activations of the AVX-512BW K-quant kernels), so |Δ| ≤ Σ_c |w_c|·step_c/2 + 1e-5·Σ|x·w| — for O(1) activations
    /// that is ≲ 0.4 % of Σ|x·w|.
    /// </summary>
    [Theory]
    [InlineData(QuantType.Q8_0)]
    [InlineData(QuantType.Q4_0)]
    [InlineData(QuantType.Q4_K)]
    [InlineData(QuantType.Q6_K)]
    [InlineData(QuantType.Q5_0)]
    public void Forward_ExactActivations_ErrorWithinActivationRoundingBound(QuantType type)
    {
        var rng = new Random(200 + (int)type);
        const int rows = 45, cols = 512, m = 5;
        byte[] w = QuantTestData.Quantize(QuantTestData.Weights(rng, rows * cols), type);
        float[] deq = new float[rows * cols];
        ReferenceQuant.Dequantize(w, type, deq);
        float[] x = QuantTestData.Activations(rng, m * cols);
        float[] y = Run(x, m, w, type, rows, cols, 0);
        double[] expected = new double[m * rows];
        ReferenceQuant.Forward(x, m, w, type, rows, cols, expected);
        for (int i = 0; i < m; i++)
            for (int r = 0; r < rows; r++)
            {
                double bound = 0, absSum = 0;
                for (int c = 0; c < cols; c++)
                {
                    double wc = deq[r * cols + c];
                    bound += Math.Abs(wc) * StepOf(x, i * cols + c, ActivationGroup(type, 0)) / 2;
                    absSum += Math.Abs(wc * x[i * cols + c]);
                }
                Assert.True(Math.Abs(y[i * rows + r] - expected[i * rows + r]) <= bound + 1e-5 * absSum, $"{type} y[{i},{r}]");
            }
    }

    [Fact]
    public void Forward_BadArguments_Throw()
    {
        byte[] w = new byte[34];
        fixed (byte* pw = w)
        {
            nint p = (nint)pw;
            Assert.Throws<ArgumentException>(() => QuantMatMul.Forward(new float[48], 1, p, QuantType.Q8_0, 1, 48, new float[1]));
            Assert.Throws<ArgumentException>(() => QuantMatMul.Forward(new float[31], 1, p, QuantType.Q8_0, 1, 32, new float[1]));
            Assert.Throws<ArgumentException>(() => QuantMatMul.Forward(new float[32], 1, p, QuantType.Q8_0, 2, 32, new float[1]));
        }
    }

    [Fact]
    public void Forward_ZeroActivations_GiveZeros()
    {
        byte[] w = QuantTestData.Quantize(QuantTestData.Weights(new Random(5), 3 * 256), QuantType.Q4_K);
        float[] y = Run(new float[2 * 256], 2, w, QuantType.Q4_K, 3, 256, 0);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    /// <summary>The activation step of the value at index: amax/127 of its group of 32 (or 256, Q8_K) values.</summary>
    private static float StepOf(float[] x, int index, int group)
    {
        int start = index / group * group;
        float amax = 0;
        for (int i = start; i < start + group; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
        return amax / 127f;
    }

    /// <summary>Values per activation scale the kernel for (type, tier) uses: 256 for the AVX-512BW K-quant kernels (Q8_K), else 32.</summary>
    private static int ActivationGroup(QuantType type, int tier)
        => type is QuantType.Q4_K or QuantType.Q6_K && (tier == 0 || tier == 4) && QuantDotK.IsSupported ? 256 : 32;

    /// <summary><see cref="ReferenceQuant.RoundActivations8"/> per 256 values (Q8_K): step amax₂₅₆/127, round half away from zero.</summary>
    private static void RoundActivations8K(ReadOnlySpan<float> x, Span<float> dst)
    {
        for (int b = 0; b < x.Length / 256; b++)
        {
            double amax = 0;
            for (int i = 0; i < 256; i++) amax = Math.Max(amax, Math.Abs(x[256 * b + i]));
            double step = amax / 127;
            for (int i = 0; i < 256; i++)
                dst[256 * b + i] = step == 0 ? 0 : (float)(Math.Round(x[256 * b + i] / step, MidpointRounding.AwayFromZero) * step);
        }
    }

    private static float[] Run(float[] x, int m, byte[] w, QuantType type, int rows, int cols, int tier)
    {
        float[] y = new float[m * rows];
        // Unaligned unmanaged copy of the weights (an mmap'd GGUF tensor is only 32-byte aligned; blocks are 18/34/144/210 bytes).
        byte* p = (byte*)NativeMemory.Alloc((nuint)w.Length + 1) + 1;
        try
        {
            w.CopyTo(new Span<byte>(p, w.Length));
            int saved = QuantMatMul.ForcedTier;
            QuantMatMul.ForcedTier = tier;
            try { QuantMatMul.Forward(x, m, (nint)p, type, rows, cols, y); }
            finally { QuantMatMul.ForcedTier = saved; }
        }
        finally { NativeMemory.Free(p - 1); }
        return y;
    }

    private static bool TierSupported(int tier) => tier switch
    {
        4 => Avx512BW.IsSupported && Vector512.IsHardwareAccelerated,
        3 => AvxVnni.IsSupported && Avx2.IsSupported && Vector256.IsHardwareAccelerated,
        2 => Avx2.IsSupported && Vector256.IsHardwareAccelerated,
        _ => true,
    };
}
