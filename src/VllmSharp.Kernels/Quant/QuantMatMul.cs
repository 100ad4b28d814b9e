using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// y[i, r] = x[i, :] · dequant(W[r, :]) for a row-major block-quantized weight, read in place (no dequantized copy).
/// Activations are first quantized to 8 bits per 32 values (<see cref="ActivationQuantizer"/>), then every output is
/// an int8 dot product per block: AVX-512BW for the K-quants, AVX-VNNI (256-bit, <see cref="QuantDotVnni"/>) for
/// Q8_0/Q4_0/Q5_0, else AVX2 maddubs, else scalar. Work is split over weight rows; each weight row is used against all
/// m activation rows while it is in L1 (four activation rows per decoded block where a multi-row kernel exists).
/// <see cref="MatMul.Forward(ReadOnlySpan{float}, int, ReadOnlySpan{WeightMatrix}, Span{float})"/> is the entry point
/// the models use; it reuses these kernels for decode-sized batches and a dequantizing f32 GEMM for prefill.
/// </summary>
public static unsafe class QuantMatMul
{
    /// <summary>
    /// Forces a kernel tier on the calling thread (tests): 4 = AVX-512BW (K-quants; Q8_0/Q4_0/Q5_0 use tier 3),
    /// 3 = AVX-VNNI, 2 = AVX2 maddubs, 1 = scalar, 0 = best.
    /// </summary>
    [ThreadStatic] internal static int ForcedTier;

    /// <summary>Benchmark/test switch: Q8_0/Q4_0 on AVX-VNNI use the per-block kernels instead of <see cref="QuantDotVnni"/>.</summary>
    internal static bool LegacyVnni;

    /// <summary>
    /// Work items per thread: each thread should stream long contiguous runs of weight rows (the hardware prefetcher
    /// restarts at every jump; 16-row items of 1 KB rows halved DRAM throughput here), yet a few items per thread
    /// still balance a thread that gets descheduled.
    /// </summary>
    private const int ChunksPerThread = 4;

    /// <summary>
    /// Bytes of the activation code buffer for m rows: the plain codes, then the same codes in the Q4_0 pair layout
    /// (<see cref="QuantDotVnni.BuildQ4Pairs"/>), then slack, because the multi-row VNNI kernels may load (and
    /// multiply by zero codes) up to 7 blocks past a row.
    /// Then, where cols is a multiple of 256, the <see cref="Q8KActivations"/> region the K-quant kernels read (written
    /// by <see cref="QuantizeActivations"/> where <see cref="QuantDotK"/> runs). Appended, so callers that size the
    /// buffer with this and pass it to <see cref="QuantizeActivations"/> and <see cref="RowRange"/> need nothing else;
    /// RowRange falls back to the per-32 kernels when the region was not written for these activations.
    /// </summary>
    internal static int ActivationBytes(int m, int cols) => checked((int)(Q8KActivations.Offset(m, cols) + Q8KActivations.Bytes(m, cols)));

    /// <summary>Benchmark switch: Q4_K/Q6_K on AVX-512BW use the per-32-scale kernels (<see cref="QuantDot512"/>) instead of <see cref="QuantDotK"/>.</summary>
    internal static bool LegacyKQuant;

    /// <param name="x">m × cols activations, row-major.</param>
    /// <param name="weights">rows × <see cref="QuantFormat.RowBytes"/> bytes of blocks; must stay valid during the call.</param>
    /// <param name="y">m × rows outputs, row-major.</param>
    public static void Forward(ReadOnlySpan<float> x, int m, nint weights, QuantType type, int rows, int cols, Span<float> y)
    {
        long rowBytes = QuantFormat.RowBytes(type, cols); // validates cols against the block size
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (x.Length < (long)m * cols) throw new ArgumentException($"x must hold m×cols = {m}×{cols} floats but has {x.Length}.", nameof(x));
        if (y.Length < (long)m * rows) throw new ArgumentException($"y must hold m×rows = {m}×{rows} floats but has {y.Length}.", nameof(y));
        if (m == 0 || rows == 0) return;
        if (cols == 0)
        {
            y.Slice(0, m * rows).Clear();
            return;
        }
        if (weights == 0) throw new ArgumentNullException(nameof(weights));

        int blocks32 = cols / 32;
        sbyte[] qxArray = ArrayPool<sbyte>.Shared.Rent(ActivationBytes(m, cols));
        float[] dxArray = ArrayPool<float>.Shared.Rent(m * blocks32);
        float[] sumArray = ArrayPool<float>.Shared.Rent(m * blocks32 * 2);
        int[] blockSumArray = ArrayPool<int>.Shared.Rent(m * blocks32);
        try
        {
            fixed (float* px = x)
            fixed (float* py = y)
            fixed (sbyte* qx = qxArray)
            fixed (float* dx = dxArray)
            fixed (float* sums = sumArray)
            fixed (int* blockSums = blockSumArray)
            {
                QuantizeActivations(px, m, cols, qx, dx, sums, blockSums);
                var job = new Job
                {
                    Weights = (byte*)weights,
                    RowBytes = rowBytes,
                    Qx = qx,
                    Dx = dx,
                    Sums = sums,
                    BlockSums = blockSums,
                    Y = py,
                    M = m,
                    Rows = rows,
                    Cols = cols,
                    Kernel = KernelFor(type, ForcedTier),
                    RowsPerChunk = Math.Max(1, (rows + WorkerPool.Shared.ThreadCount * ChunksPerThread - 1) / (WorkerPool.Shared.ThreadCount * ChunksPerThread)),
                };
                WorkerPool.Shared.For((rows + job.RowsPerChunk - 1) / job.RowsPerChunk, ref job);
            }
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(qxArray);
            ArrayPool<float>.Shared.Return(dxArray);
            ArrayPool<float>.Shared.Return(sumArray);
            ArrayPool<int>.Shared.Return(blockSumArray);
        }
    }

    private struct Job : IParallelJob
    {
        public byte* Weights;
        public long RowBytes;
        public sbyte* Qx;
        public float* Dx;
        public float* Sums;
        public int* BlockSums;
        public float* Y;
        public int M, Rows, Cols, Kernel, RowsPerChunk;

        public readonly void Execute(int index)
        {
            int r0 = index * RowsPerChunk, r1 = Math.Min(Rows, r0 + RowsPerChunk);
            RowRange(Kernel, Weights, RowBytes, r0, r1, Qx, Dx, Sums, BlockSums, M, Cols, Y, Rows);
        }
    }

    /// <summary>
    /// The kernel id for <paramref name="type"/> at the best tier ≤ <paramref name="tier"/> this machine supports
    /// (tier numbering as <see cref="ForcedTier"/>; 0 = best).
    /// </summary>
    internal static int KernelFor(QuantType type, int tier)
    {
        if (tier == 0) tier = 4;
        if (tier >= 4 && !(type is QuantType.Q4_K or QuantType.Q6_K && QuantDotK.IsSupported)) tier = 3;
        if (tier >= 3 && !AvxVnni.IsSupported) tier = 2;
        if (tier >= 2 && !(Avx2.IsSupported && Vector256.IsHardwareAccelerated)) tier = 1;
        return (int)type * 8 + tier;
    }

    /// <summary>Quantizes m rows of cols activations (cols a multiple of 32) into the buffers the kernels read; qx holds <see cref="ActivationBytes"/>.</summary>
    internal static void QuantizeActivations(float* x, int m, int cols, sbyte* qx, float* dx, float* sums, int* blockSums)
        => QuantizeActivations(x, m, cols, qx, dx, sums, blockSums, pairLayout: true, q8K: true);

    /// <summary>
    /// As above, skipping the parts no weight of the call reads: the Q4_0/Q5_0 pair layout (pairLayout) and the Q8_K
    /// form for Q4_K/Q6_K (q8K; without it those kernels fall back to the per-32 ones).
    /// </summary>
    internal static void QuantizeActivations(float* x, int m, int cols, sbyte* qx, float* dx, float* sums, int* blockSums, bool pairLayout, bool q8K)
    {
        int blocks32 = cols / 32;
        for (int i = 0; i < m; i++)
            ActivationQuantizer.Quantize(x + (long)i * cols, cols, qx + (long)i * cols, dx + i * blocks32, sums + i * blocks32 * 2, blockSums + i * blocks32);
        if (pairLayout) QuantDotVnni.BuildQ4Pairs(qx, m, cols, qx + (long)m * cols);
        // Only the AVX-512BW K-quant kernels read the Q8_K form; K-quant rows are whole 256-value super-blocks.
        if (q8K && cols % 256 == 0 && QuantDotK.IsSupported)
        {
            sbyte* region = Q8KActivations.Region(qx, m, cols);
            Q8KActivations.Quantize(x, m, cols, region);
            Q8KActivations.Stamp(region, qx, dx, m, cols);
        }
    }

    /// <summary>
    /// y[i·ldy + r] = x̂[i, :] · W[r, :] for weight rows [r0, r1) and all m quantized activation rows; each weight row
    /// is used against every activation row while it is in L1.
    /// </summary>
    internal static void RowRange(int kernel, byte* weights, long rowBytes, int r0, int r1, sbyte* qx, float* dx, float* sums, int* blockSums, int m, int cols, float* y, int ldy)
    {
        int blocks32 = cols / 32;
        float* four = stackalloc float[4];
        if (!LegacyKQuant && (kernel == (int)QuantType.Q4_K * 8 + 4 || kernel == (int)QuantType.Q6_K * 8 + 4))
        {
            sbyte* region = Q8KActivations.Region(qx, m, cols);
            if (Q8KActivations.IsCurrent(region, qx, dx, m, cols))
            {
                for (int r = r0; r < r1; r++)
                    KQuantRows(kernel == (int)QuantType.Q6_K * 8 + 4, weights + r * rowBytes, region, m, cols, y + r, ldy, four);
                return;
            }
        }
        for (int r = r0; r < r1; r++)
        {
            byte* w = weights + r * rowBytes;
            int i = 0;
            if (!LegacyVnni && (kernel == (int)QuantType.Q8_0 * 8 + 3 || kernel == (int)QuantType.Q4_0 * 8 + 3 || kernel == (int)QuantType.Q5_0 * 8 + 3))
            {
                QuantType type = (QuantType)(kernel / 8);
                long pairOffset = (long)m * cols;
                for (; i + 4 <= m; i += 4)
                {
                    QuantDotVnni.Rows<MatMul.Rows4>(type, w, qx + (long)i * cols, dx + i * blocks32, blockSums + i * blocks32, blocks32, four, pairOffset);
                    for (int k = 0; k < 4; k++) y[(long)(i + k) * ldy + r] = four[k];
                }
                if (type != QuantType.Q8_0 && i < m)
                {
                    // Q4_0/Q5_0 rows always go through the pair kernel (it reads the pair layout; Dot the plain one).
                    sbyte* q = qx + (long)i * cols;
                    float* d = dx + i * blocks32;
                    int* s = blockSums + i * blocks32;
                    switch (m - i)
                    {
                        case 1: QuantDotVnni.Rows<MatMul.Rows1>(type, w, q, d, s, blocks32, four, pairOffset); break;
                        case 2: QuantDotVnni.Rows<MatMul.Rows2>(type, w, q, d, s, blocks32, four, pairOffset); break;
                        default: QuantDotVnni.Rows<MatMul.Rows3>(type, w, q, d, s, blocks32, four, pairOffset); break;
                    }
                    for (int k = 0; k < m - i; k++) y[(long)(i + k) * ldy + r] = four[k];
                    i = m;
                }
            }
            if (kernel == (int)QuantType.Q4_K * 8 + 4)
            {
                for (; i + 4 <= m; i += 4)
                {
                    QuantDot512.Q4_KRows4(w, qx + (long)i * cols, dx + i * blocks32, sums + i * blocks32 * 2, blocks32, cols, four);
                    for (int k = 0; k < 4; k++) y[(long)(i + k) * ldy + r] = four[k];
                }
            }
            for (; i < m; i++)
                y[(long)i * ldy + r] = Dot(kernel, w, qx + (long)i * cols, dx + i * blocks32, sums + i * blocks32 * 2, blockSums + i * blocks32, blocks32);
        }
    }

    /// <summary>One K-quant weight row against all m Q8_K activation rows, four at a time then the 1–3 left.</summary>
    private static void KQuantRows(bool q6, byte* w, sbyte* region, int m, int cols, float* y, int ldy, float* four)
    {
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            if (q6) QuantDotK.Q6_K<MatMul.Rows4>(w, region, m, i, cols, four);
            else QuantDotK.Q4_K<MatMul.Rows4>(w, region, m, i, cols, four);
            for (int k = 0; k < 4; k++) y[(long)(i + k) * ldy] = four[k];
        }
        switch (m - i)
        {
            case 0: return;
            case 1: if (q6) QuantDotK.Q6_K<MatMul.Rows1>(w, region, m, i, cols, four); else QuantDotK.Q4_K<MatMul.Rows1>(w, region, m, i, cols, four); break;
            case 2: if (q6) QuantDotK.Q6_K<MatMul.Rows2>(w, region, m, i, cols, four); else QuantDotK.Q4_K<MatMul.Rows2>(w, region, m, i, cols, four); break;
            default: if (q6) QuantDotK.Q6_K<MatMul.Rows3>(w, region, m, i, cols, four); else QuantDotK.Q4_K<MatMul.Rows3>(w, region, m, i, cols, four); break;
        }
        for (int k = 0; i + k < m; k++) y[(long)(i + k) * ldy] = four[k];
    }

    private static float Dot(int kernel, byte* w, sbyte* qx, float* dx, float* sums, int* blockSums, int blocks32) => kernel switch
    {
        (int)QuantType.Q8_0 * 8 + 3 => LegacyVnni ? QuantDot256<VnniDot>.Q8_0(w, qx, dx, sums, blocks32) : QuantDotVnni.Q8_0(w, qx, dx, blockSums, blocks32),
        (int)QuantType.Q8_0 * 8 + 2 => QuantDot256<MaddubsDot>.Q8_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q8_0 * 8 + 1 => QuantDotScalar.Q8_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_0 * 8 + 3 => LegacyVnni ? QuantDot256<VnniDot>.Q4_0(w, qx, dx, sums, blocks32) : QuantDotVnni.Q4_0(w, qx, dx, blockSums, blocks32),
        (int)QuantType.Q4_0 * 8 + 2 => QuantDot256<MaddubsDot>.Q4_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_0 * 8 + 1 => QuantDotScalar.Q4_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q5_0 * 8 + 3 => LegacyVnni ? QuantDot256<VnniDot>.Q5_0(w, qx, dx, sums, blocks32) : QuantDotVnni.Q5_0(w, qx, dx, blockSums, blocks32),
        (int)QuantType.Q5_0 * 8 + 2 => QuantDot256<MaddubsDot>.Q5_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q5_0 * 8 + 1 => QuantDotScalar.Q5_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_K * 8 + 4 => QuantDot512.Q4_K(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_K * 8 + 3 => QuantDot256<VnniDot>.Q4_K(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_K * 8 + 2 => QuantDot256<MaddubsDot>.Q4_K(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_K * 8 + 1 => QuantDotScalar.Q4_K(w, qx, dx, sums, blocks32),
        (int)QuantType.Q6_K * 8 + 4 => QuantDot512.Q6_K(w, qx, dx, sums, blocks32),
        (int)QuantType.Q6_K * 8 + 3 => QuantDot256<VnniDot>.Q6_K(w, qx, dx, sums, blocks32),
        (int)QuantType.Q6_K * 8 + 2 => QuantDot256<MaddubsDot>.Q6_K(w, qx, dx, sums, blocks32),
        _ => QuantDotScalar.Q6_K(w, qx, dx, sums, blocks32),
    };
}
