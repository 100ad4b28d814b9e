using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using VllmSharp.Kernels.Quant;

namespace VllmSharp.Kernels;

public static unsafe partial class MatMul
{
    /// <summary>
    /// The activations quantized to 8 bits per 32 values (<see cref="ActivationQuantizer"/>'s layout) plus, per weight
    /// dtype, the kernel id chosen for this call. Shared by every quantized weight of one call.
    /// </summary>
    internal struct QuantizedActivations
    {
        public sbyte* Codes;
        public float* Scales;
        public float* HalfSums;
        public int* BlockSums;
        public int KernelQ8_0, KernelQ4_0, KernelQ4_K, KernelQ6_K, KernelQ5_0;

        /// <summary>Set when Q8_0 weights of this call run <see cref="Quant.Q8Gemm"/> (on the GEMM path too).</summary>
        public bool Q8GemmReady;

        /// <summary>Set with <see cref="Q8GemmReady"/> when every weight of the call is Q8_0 (work split as for GEMV).</summary>
        public bool AllQ8Gemm;
        public Q8GemmActivations Q8Gemm;

        public readonly int KernelFor(DType type) => type switch
        {
            DType.Q8_0 => KernelQ8_0,
            DType.Q4_0 => KernelQ4_0,
            DType.Q4_K => KernelQ4_K,
            DType.Q5_0 => KernelQ5_0,
            _ => KernelQ6_K,
        };
    }

    /// <summary>
    /// Forward for a call with at least one block-quantized weight: the activations are quantized once here and read
    /// by every quantized weight's tasks; float weights in the same call keep their usual kernels.
    /// </summary>
    private static void ForwardWithQuantized(float* x, int m, int k, WeightMatrix* weights, int count, long totalRows, float* y, int tier)
    {
        // MatMul tiers (1 scalar, 2 = 256-bit, 3 = 512-bit) map onto the quant kernels' (1 scalar, 2 AVX2,
        // 3 AVX-VNNI, 4 AVX-512BW); QuantMatMul.ForcedTier, when set, picks one of those directly.
        int quantTier = QuantMatMul.ForcedTier != 0 ? QuantMatMul.ForcedTier : tier switch { 1 => 1, 2 => 3, _ => 0 };
        int kernelQ8 = QuantMatMul.KernelFor(QuantType.Q8_0, quantTier);
        bool anyQ8 = false, onlyQ8 = true, allQ8 = true, anyPaired = false, anyKQuant = false;
        for (int j = 0; j < count; j++)
        {
            anyQ8 |= weights[j].Type == DType.Q8_0;
            anyPaired |= weights[j].Type is DType.Q4_0 or DType.Q5_0;
            anyKQuant |= weights[j].Type is DType.Q4_K or DType.Q6_K;
            onlyQ8 &= weights[j].Type == DType.Q8_0 || !weights[j].Type.IsQuantized();
            allQ8 &= weights[j].Type == DType.Q8_0;
        }
        // The int8 batch kernel wherever its tier runs: decode batches, and prefill chunks up to Q8GemmMaxRows
        // (measured faster than dequantizing into the f32 GEMM; bench/results/q8-gemm.md). ForcedPath = 2 keeps the
        // f32 GEMM (tests compare it to f32 accuracy).
        bool q8Gemm = anyQ8 && Q8Gemm.Enabled && Q8Gemm.IsSupported && !QuantMatMul.LegacyVnni
            && kernelQ8 == (int)QuantType.Q8_0 * 8 + 3 && m >= Q8GemmMinRows && m <= Q8GemmMaxRows && ForcedPath != 1;
        bool gemm = ForcedPath != 0 ? ForcedPath == 2 : m > GemvMaxRows;

        // Prefill-sized batches dequantize weight panels into the f32 GEMM instead (exact activations, and the
        // f32 micro-kernel reuses each panel across all rows): no activation quantization needed.
        if (gemm && !(q8Gemm && ForcedPath == 0))
        {
            Dispatch(x, m, k, weights, count, totalRows, y, tier, default);
            return;
        }

        // Every quantized weight's rows are whole blocks of ≥ 32 values, so k is a multiple of 32 here.
        int blocks32 = k / 32;
        sbyte[] codes = ArrayPool<sbyte>.Shared.Rent(QuantMatMul.ActivationBytes(m, k));
        float[] scales = ArrayPool<float>.Shared.Rent(m * blocks32);
        float[] sums = ArrayPool<float>.Shared.Rent(m * blocks32 * 2);
        int[] blockSums = ArrayPool<int>.Shared.Rent(m * blocks32);
        int packedBytes = q8Gemm ? Q8GemmActivations.CodeBytes(m, k) : 0, packedEntries = q8Gemm ? Q8GemmActivations.BlockEntries(m, k) : 0;
        sbyte[] packedCodes = ArrayPool<sbyte>.Shared.Rent(packedBytes);
        int[] packedOffsets = ArrayPool<int>.Shared.Rent(packedEntries);
        float[] packedScales = ArrayPool<float>.Shared.Rent(packedEntries);
        try
        {
            fixed (sbyte* pc = codes)
            fixed (float* ps = scales)
            fixed (float* pu = sums)
            fixed (int* pb = blockSums)
            fixed (sbyte* gc = packedCodes)
            fixed (int* go = packedOffsets)
            fixed (float* gs = packedScales)
            {
                Q8GemmActivations packed = default;
                if (onlyQ8)
                {
                    // Q8_0 kernels read only the plain codes (and Q8Gemm its packed copy): quantize and pack groups of
                    // 8 rows in parallel, which otherwise runs on one thread ahead of the parallel matmul.
                    var job = new QuantizeQ8Job { X = x, M = m, K = k, Codes = pc, Scales = ps, HalfSums = pu, BlockSums = pb, Pack = q8Gemm, PackedCodes = gc, PackedOffsets = go, PackedScales = gs };
                    WorkerPool.Shared.For((m + 7) / 8, ref job);
                    if (q8Gemm) packed = new Q8GemmActivations(gc, go, gs, m, blocks32);
                }
                else
                {
                    // Only the layouts this call's weights read: the Q4_0/Q5_0 pair copy, the per-256 form of the K-quants.
                    QuantMatMul.QuantizeActivations(x, m, k, pc, ps, pu, pb, pairLayout: anyPaired, q8K: anyKQuant);
                    if (q8Gemm) packed = Q8GemmActivations.Pack(pc, ps, pb, m, k, gc, go, gs);
                }
                var qx = new QuantizedActivations
                {
                    Codes = pc,
                    Scales = ps,
                    HalfSums = pu,
                    BlockSums = pb,
                    KernelQ8_0 = kernelQ8,
                    KernelQ4_0 = QuantMatMul.KernelFor(QuantType.Q4_0, quantTier),
                    KernelQ4_K = QuantMatMul.KernelFor(QuantType.Q4_K, quantTier),
                    KernelQ6_K = QuantMatMul.KernelFor(QuantType.Q6_K, quantTier),
                    KernelQ5_0 = QuantMatMul.KernelFor(QuantType.Q5_0, quantTier),
                    Q8GemmReady = q8Gemm,
                    AllQ8Gemm = q8Gemm && allQ8,
                };
                qx.Q8Gemm = packed;
                Dispatch(x, m, k, weights, count, totalRows, y, tier, qx);
            }
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(codes);
            ArrayPool<float>.Shared.Return(scales);
            ArrayPool<float>.Shared.Return(sums);
            ArrayPool<int>.Shared.Return(blockSums);
            ArrayPool<sbyte>.Shared.Return(packedCodes);
            ArrayPool<int>.Shared.Return(packedOffsets);
            ArrayPool<float>.Shared.Return(packedScales);
        }
    }

    /// <summary>Rows 8·index .. 8·index + 7 of the activations quantized (and packed for <see cref="Q8Gemm"/>).</summary>
    private struct QuantizeQ8Job : IParallelJob
    {
        public float* X;
        public int M, K;
        public sbyte* Codes;
        public float* Scales, HalfSums;
        public int* BlockSums;
        public bool Pack;
        public sbyte* PackedCodes;
        public int* PackedOffsets;
        public float* PackedScales;

        public readonly void Execute(int index)
        {
            int blocks32 = K / 32, i0 = 8 * index, rows = Math.Min(8, M - i0);
            for (int i = i0; i < i0 + rows; i++)
                ActivationQuantizer.Quantize(X + (long)i * K, K, Codes + (long)i * K, Scales + i * blocks32, HalfSums + i * blocks32 * 2, BlockSums + i * blocks32);
            if (Pack) Q8GemmActivations.PackGroup(Codes, Scales, BlockSums, M, K, index, PackedCodes, PackedOffsets, PackedScales);
        }
    }

    /// <summary>Smallest batch that takes <see cref="Q8Gemm"/> for Q8_0 (smaller ones: the row-by-row kernels).</summary>
    internal static int Q8GemmMinRows = 6;

    /// <summary>Largest batch that takes <see cref="Q8Gemm"/> for Q8_0 (larger ones: the dequantizing f32 GEMM).</summary>
    internal static int Q8GemmMaxRows = 1 << 20;

    /// <summary>Whether the GEMM path still hands weight w to <see cref="QuantRange"/> (Q8_0 under <see cref="Q8Gemm"/>).</summary>
    private static bool QuantOnGemmPath(WeightMatrix w, in QuantizedActivations qx) => qx.Q8GemmReady && w.Type == DType.Q8_0;

    /// <summary>Output rows [start, end) of one quantized weight for all m activation rows; y is that weight's m × Rows block.</summary>
    private static void QuantRange(WeightMatrix w, int start, int end, float* y, int m, QuantizedActivations qx)
    {
        if (qx.Q8GemmReady && w.Type == DType.Q8_0)
            Quant.Q8Gemm.RowRange((byte*)w.Data, w.Type.RowBytes(w.Cols), start, end, qx.Q8Gemm, y, w.Rows);
        else
            QuantMatMul.RowRange(qx.KernelFor(w.Type), (byte*)w.Data, w.Type.RowBytes(w.Cols), start, end,
                qx.Codes, qx.Scales, qx.HalfSums, qx.BlockSums, m, w.Cols, y, w.Rows);
    }

    [ThreadStatic] private static float[]? t_dequantized;

    /// <summary>
    /// <see cref="PackPanel"/> for block-quantized weights: groups of 16 (AVX-512) or 8 (AVX2) rows are dequantized
    /// into a per-thread row-major scratch and transposed into the panel with the f32 transposes; leftover rows are
    /// scattered. kc and k0 are multiples of the block size.
    /// </summary>
    private static void PackPanelQuantized<TOps, TV>(byte* w, DType type, int k, int nStart, int nEnd, int k0, int kc, int nr, float* packed)
        where TOps : struct, IVectorOps<TV> where TV : struct
    {
        QuantType qt = type.ToQuantType();
        long rowBytes = type.RowBytes(k), offset = type.RowBytes(k0);
        int group = typeof(TV) == typeof(Vector512<float>) ? 16 : typeof(TV) == typeof(Vector256<float>) ? 8 : 1;
        int need = group * kc + 16;
        if (t_dequantized is null || t_dequantized.Length < need) t_dequantized = GC.AllocateUninitializedArray<float>(need, pinned: true);
        float* temp = (float*)(((nint)Unsafe.AsPointer(ref t_dequantized[0]) + 63) & ~(nint)63);
        int strips = (nEnd - nStart + nr - 1) / nr;
        for (int s = 0; s < strips; s++)
        {
            float* dst = packed + (long)s * kc * nr;
            for (int j = 0; j < nr; j += group)
            {
                int r = nStart + s * nr + j;
                int valid = Math.Clamp(nEnd - r, 0, group);
                for (int g = 0; g < valid; g++)
                    QuantDequant.Row(qt, w + (r + g) * rowBytes + offset, kc, temp + (long)g * kc);
                if (valid == group && group > 1 && kc % group == 0)
                {
                    for (int kk = 0; kk < kc; kk += group)
                    {
                        if (group == 16) Transpose16x16<LoadF32>((byte*)(temp + kk), kc * 4L, dst + (long)kk * nr + j, nr);
                        else Transpose8x8<LoadF32>((byte*)(temp + kk), kc * 4L, dst + (long)kk * nr + j, nr);
                    }
                    continue;
                }
                for (int g = 0; g < group && j + g < nr; g++)
                {
                    float* src = temp + (long)g * kc;
                    for (int kk = 0; kk < kc; kk++) dst[(long)kk * nr + j + g] = g < valid ? src[kk] : 0f;
                }
            }
        }
    }
}
