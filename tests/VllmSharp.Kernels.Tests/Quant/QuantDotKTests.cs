using System.Runtime.InteropServices;
using VllmSharp.Kernels.Quant;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

/// <summary>
/// The AVX-512BW Q4_K/Q6_K decode kernels on Q8_K activations (<see cref="QuantDotK"/>) against independent
/// references: the element-wise scalar twins built from the format definitions, and the dequantized weights in double.
/// </summary>
public sealed unsafe class QuantDotKTests
{
    public static TheoryData<QuantType, int, int> TypeColsAndM()
    {
        var data = new TheoryData<QuantType, int, int>();
        foreach (QuantType type in new[] { QuantType.Q4_K, QuantType.Q6_K })
            foreach (int cols in new[] { 256, 768, 2048 })
                foreach (int m in new[] { 1, 3, 4, 7 })
                    data.Add(type, cols, m);
        return data;
    }

    /// <summary>
    /// Same Q8_K activations on both sides, so the integer parts are exact and only f32 rounding differs: the kernel
    /// and the twin each round the per-super-block products d·d_a·Σ (≤ 2⁻²⁴ relative each) and their f32 sums, so
    /// |Δ| ≤ 1e-5·Σ|x̂·w| (x̂ = code·d_a), the budget of the f32 MatMul tests. A wrong nibble, top bit, scale, min or
    /// offset moves a result by at least one weight step times an activation code, far above that.
    /// </summary>
    [Theory]
    [MemberData(nameof(TypeColsAndM))]
    public void RowRange_Q8KActivations_MatchesScalarTwin(QuantType type, int cols, int m)
    {
        if (!QuantDotK.IsSupported) return; // the DOTNET_EnableAVX512F=0 run covers machines without it
        const int rows = 13;
        using KernelCase run = RunKernel(type, cols, m, rows, seed: 700 + cols + 10 * m + (int)type);
        (byte[] w, float[] deq, _, Activations act, float[] y) = run;
        long rowBytes = QuantFormat.RowBytes(type, cols);
        fixed (byte* pw = w)
        {
            for (int i = 0; i < m; i++)
                for (int r = 0; r < rows; r++)
                {
                    sbyte* codes = Q8KActivations.Codes(act.Region, cols, i);
                    float* scales = Q8KActivations.Scales(act.Region, m, cols, i);
                    short* sums = Q8KActivations.Sums16(act.Region, m, cols, i);
                    float twin = type == QuantType.Q6_K
                        ? QuantDotScalar.Q6_K8K(pw + r * rowBytes, codes, scales, sums, m, cols)
                        : QuantDotScalar.Q4_K8K(pw + r * rowBytes, codes, scales, sums, m, cols);
                    double absSum = 0;
                    for (int c = 0; c < cols; c++) absSum += Math.Abs(deq[r * cols + c] * (double)codes[c] * scales[c / 256]);
                    Assert.True(Math.Abs(y[i * rows + r] - twin) <= 1e-5 * absSum, $"{type} {cols} m={m} y[{i},{r}]={y[i * rows + r]} twin={twin}");
                }
        }
    }

    /// <summary>
    /// Against the exact f32 activations and the dequantized weights in double: each activation moves by at most half
    /// its Q8_K step, d/2 = amax₂₅₆/254 (rounding to the nearest of the codes k·d, |k| ≤ 127, which cover [−amax, amax]),
    /// so |Δ| ≤ Σ_c |w_c|·amax₂₅₆(c)/254 + 1e-5·Σ|x·w| (the f32 accumulation budget).
    /// </summary>
    [Theory]
    [MemberData(nameof(TypeColsAndM))]
    public void RowRange_ExactActivations_ErrorWithinQ8KRoundingBound(QuantType type, int cols, int m)
    {
        if (!QuantDotK.IsSupported) return;
        const int rows = 11;
        using KernelCase run = RunKernel(type, cols, m, rows, seed: 800 + cols + 10 * m + (int)type);
        (_, float[] deq, float[] x, _, float[] y) = run;
        for (int i = 0; i < m; i++)
            for (int r = 0; r < rows; r++)
            {
                double expected = 0, bound = 0;
                for (int c = 0; c < cols; c++)
                {
                    double wc = deq[r * cols + c], xc = x[i * cols + c];
                    expected += wc * xc;
                    bound += Math.Abs(wc) * Amax256(x, i * cols + c) / 254 + 1e-5 * Math.Abs(wc * xc);
                }
                Assert.True(Math.Abs(y[i * rows + r] - expected) <= bound, $"{type} {cols} m={m} y[{i},{r}]={y[i * rows + r]} ref={expected} bound={bound:g3}");
            }
    }

    /// <summary>A row's result must not depend on the batch it came in (4-row, then 1–3-row kernel calls): bitwise.</summary>
    [Theory]
    [InlineData(QuantType.Q4_K)]
    [InlineData(QuantType.Q6_K)]
    public void Forward_RowsOfABatch_EqualSingleRowCallsBitwise(QuantType type)
    {
        var rng = new Random(900 + (int)type);
        const int m = 7, rows = 9, cols = 2048;
        byte[] w = QuantTestData.Quantize(QuantTestData.Weights(rng, rows * cols), type);
        float[] x = QuantTestData.Activations(rng, m * cols);
        float[] batch = Forward(x, m, w, type, rows, cols);
        for (int i = 0; i < m; i++)
        {
            float[] single = Forward(x.AsSpan(i * cols, cols).ToArray(), 1, w, type, rows, cols);
            for (int r = 0; r < rows; r++) Assert.Equal(single[r], batch[i * rows + r]);
        }
    }

    /// <summary>
    /// A caller that quantizes only the per-32 form (ActivationQuantizer directly, or q8K: false) into a buffer whose
    /// Q8_K region still holds an earlier call's activations must get the per-32 kernels' result, bit for bit.
    /// </summary>
    [Theory]
    [InlineData(QuantType.Q4_K, false)]
    [InlineData(QuantType.Q6_K, false)]
    [InlineData(QuantType.Q4_K, true)]
    [InlineData(QuantType.Q6_K, true)]
    public void RowRange_StaleQ8KRegion_FallsBackToPerBlockKernels(QuantType type, bool viaOverload)
    {
        if (!QuantDotK.IsSupported) return;
        var rng = new Random(950 + (int)type);
        const int m = 3, rows = 5, cols = 512;
        byte[] w = QuantTestData.Quantize(QuantTestData.Weights(rng, rows * cols), type);
        float[] first = QuantTestData.Activations(rng, m * cols), second = QuantTestData.Activations(rng, m * cols);
        using var act = new Activations(first, m, cols); // region stamped for `first`
        fixed (float* px = second)
        {
            if (viaOverload) QuantMatMul.QuantizeActivations(px, m, cols, act.Codes, act.Scales, act.HalfSums, act.BlockSums, pairLayout: true, q8K: false);
            else
                for (int i = 0; i < m; i++)
                    ActivationQuantizer.Quantize(px + i * cols, cols, act.Codes + i * cols, act.Scales + i * cols / 32, act.HalfSums + i * cols / 16, act.BlockSums + i * cols / 32);
        }
        float[] y = RowRange(type, w, rows, cols, act, m);
        long rowBytes = QuantFormat.RowBytes(type, cols);
        fixed (byte* pw = w)
        {
            for (int i = 0; i < m; i++)
                for (int r = 0; r < rows; r++)
                {
                    // m = 3 < 4: the per-32 path runs the single-row AVX-512BW kernels (no global switch: tests run in parallel).
                    float* d = act.Scales + i * cols / 32, sums = act.HalfSums + i * cols / 16;
                    float legacy = type == QuantType.Q6_K
                        ? QuantDot512.Q6_K(pw + r * rowBytes, act.Codes + i * cols, d, sums, cols / 32)
                        : QuantDot512.Q4_K(pw + r * rowBytes, act.Codes + i * cols, d, sums, cols / 32);
                    Assert.Equal(legacy, y[i * rows + r]);
                }
        }
    }

    /// <summary>Seeded weights (quantized and dequantized), activations, their quantized forms, and the kernel's y.</summary>
    private sealed record KernelCase(byte[] Weights, float[] Dequantized, float[] X, Activations Act, float[] Y) : IDisposable
    {
        public void Dispose() => Act.Dispose();
    }

    private static KernelCase RunKernel(QuantType type, int cols, int m, int rows, int seed)
    {
        var rng = new Random(seed);
        byte[] w = QuantTestData.Quantize(QuantTestData.Weights(rng, rows * cols), type);
        float[] deq = new float[rows * cols];
        ReferenceQuant.Dequantize(w, type, deq);
        float[] x = QuantTestData.Activations(rng, m * cols);
        var act = new Activations(x, m, cols);
        return new KernelCase(w, deq, x, act, RowRange(type, w, rows, cols, act, m));
    }

    private static float[] RowRange(QuantType type, byte[] w, int rows, int cols, Activations act, int m)
    {
        float[] y = new float[m * rows];
        long rowBytes = QuantFormat.RowBytes(type, cols);
        // 1 byte off alignment, as an mmap'd GGUF tensor may be.
        byte* p = (byte*)NativeMemory.Alloc((nuint)w.Length + 1) + 1;
        try
        {
            w.CopyTo(new Span<byte>(p, w.Length));
            fixed (float* py = y)
                QuantMatMul.RowRange(QuantMatMul.KernelFor(type, 4), p, rowBytes, 0, rows, act.Codes, act.Scales, act.HalfSums, act.BlockSums, m, cols, py, rows);
        }
        finally { NativeMemory.Free(p - 1); }
        return y;
    }

    private static float[] Forward(float[] x, int m, byte[] w, QuantType type, int rows, int cols)
    {
        float[] y = new float[m * rows];
        fixed (byte* pw = w) QuantMatMul.Forward(x, m, (nint)pw, type, rows, cols, y);
        return y;
    }

    private static float Amax256(float[] x, int index)
    {
        int start = index / 256 * 256;
        float amax = 0;
        for (int i = start; i < start + 256; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
        return amax;
    }

    /// <summary>The activation buffers QuantMatMul.QuantizeActivations fills (unmanaged, as MatMul's are pinned).</summary>
    private sealed class Activations : IDisposable
    {
        public readonly sbyte* Codes;
        public readonly float* Scales, HalfSums;
        public readonly int* BlockSums;

        public Activations(float[] x, int m, int cols)
        {
            Codes = (sbyte*)NativeMemory.Alloc((nuint)QuantMatMul.ActivationBytes(m, cols));
            Scales = (float*)NativeMemory.Alloc((nuint)(m * cols / 32 * 4));
            HalfSums = (float*)NativeMemory.Alloc((nuint)(m * cols / 16 * 4));
            BlockSums = (int*)NativeMemory.Alloc((nuint)(m * cols / 32 * 4));
            fixed (float* px = x) QuantMatMul.QuantizeActivations(px, m, cols, Codes, Scales, HalfSums, BlockSums);
            Region = Q8KActivations.Region(Codes, m, cols);
        }

        public sbyte* Region { get; }

        public void Dispose()
        {
            NativeMemory.Free(Codes);
            NativeMemory.Free(Scales);
            NativeMemory.Free(HalfSums);
            NativeMemory.Free(BlockSums);
        }
    }
}
