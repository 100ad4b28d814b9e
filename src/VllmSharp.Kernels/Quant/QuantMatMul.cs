using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// y[i, r] = x[i, :] · dequant(W[r, :]) for a row-major block-quantized weight, read in place (no dequantized copy).
/// Activations are first quantized to 8 bits per 32 values (<see cref="ActivationQuantizer"/>), then every output is
/// an int8 dot product per block: AVX-512BW for the K-quants, AVX-VNNI (256-bit) for Q8_0/Q4_0, else AVX2 maddubs,
/// else scalar. Work is split over weight rows; each weight row is used against all m activation rows while it is in
/// L1 (Q4_K: four activation rows per unpacked chunk), so prefill reads W once.
/// </summary>
public static unsafe class QuantMatMul
{
    /// <summary>
    /// Forces a kernel tier on the calling thread (tests): 4 = AVX-512BW (K-quants; Q8_0/Q4_0 use tier 3),
    /// 3 = AVX-VNNI, 2 = AVX2 maddubs, 1 = scalar, 0 = best.
    /// </summary>
    [ThreadStatic] internal static int ForcedTier;

    /// <summary>
    /// Work items per thread: each thread should stream long contiguous runs of weight rows (the hardware prefetcher
    /// restarts at every jump; 16-row items of 1 KB rows halved DRAM throughput here), yet a few items per thread
    /// still balance a thread that gets descheduled.
    /// </summary>
    private const int ChunksPerThread = 4;

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
        sbyte[] qxArray = ArrayPool<sbyte>.Shared.Rent(m * cols);
        float[] dxArray = ArrayPool<float>.Shared.Rent(m * blocks32);
        float[] sumArray = ArrayPool<float>.Shared.Rent(m * blocks32 * 2);
        try
        {
            fixed (float* px = x)
            fixed (float* py = y)
            fixed (sbyte* qx = qxArray)
            fixed (float* dx = dxArray)
            fixed (float* sums = sumArray)
            {
                for (int i = 0; i < m; i++)
                    ActivationQuantizer.Quantize(px + (long)i * cols, cols, qx + (long)i * cols, dx + i * blocks32, sums + i * blocks32 * 2);

                int tier = ForcedTier != 0 ? ForcedTier : 4;
                if (tier >= 4 && !(type is QuantType.Q4_K or QuantType.Q6_K && Avx512BW.IsSupported && Vector512.IsHardwareAccelerated)) tier = 3;
                if (tier >= 3 && !AvxVnni.IsSupported) tier = 2;
                if (tier >= 2 && !(Avx2.IsSupported && Vector256.IsHardwareAccelerated)) tier = 1;
                var job = new Job
                {
                    Weights = (byte*)weights,
                    RowBytes = rowBytes,
                    Qx = qx,
                    Dx = dx,
                    Sums = sums,
                    Y = py,
                    M = m,
                    Rows = rows,
                    Cols = cols,
                    Kernel = (int)type * 8 + tier,
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
        }
    }

    private struct Job : IParallelJob
    {
        public byte* Weights;
        public long RowBytes;
        public sbyte* Qx;
        public float* Dx;
        public float* Sums;
        public float* Y;
        public int M, Rows, Cols, Kernel, RowsPerChunk;

        public readonly void Execute(int index)
        {
            int r0 = index * RowsPerChunk, r1 = Math.Min(Rows, r0 + RowsPerChunk), blocks32 = Cols / 32;
            float* four = stackalloc float[4];
            for (int r = r0; r < r1; r++)
            {
                byte* w = Weights + r * RowBytes;
                int i = 0;
                if (Kernel == (int)QuantType.Q4_K * 8 + 4)
                {
                    for (; i + 4 <= M; i += 4)
                    {
                        QuantDot512.Q4_KRows4(w, Qx + (long)i * Cols, Dx + i * blocks32, Sums + i * blocks32 * 2, blocks32, Cols, four);
                        for (int k = 0; k < 4; k++) Y[(long)(i + k) * Rows + r] = four[k];
                    }
                }
                for (; i < M; i++)
                    Y[(long)i * Rows + r] = Dot(Kernel, w, Qx + (long)i * Cols, Dx + i * blocks32, Sums + i * blocks32 * 2, blocks32);
            }
        }
    }

    private static float Dot(int kernel, byte* w, sbyte* qx, float* dx, float* sums, int blocks32) => kernel switch
    {
        (int)QuantType.Q8_0 * 8 + 3 => QuantDot256<VnniDot>.Q8_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q8_0 * 8 + 2 => QuantDot256<MaddubsDot>.Q8_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q8_0 * 8 + 1 => QuantDotScalar.Q8_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_0 * 8 + 3 => QuantDot256<VnniDot>.Q4_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_0 * 8 + 2 => QuantDot256<MaddubsDot>.Q4_0(w, qx, dx, sums, blocks32),
        (int)QuantType.Q4_0 * 8 + 1 => QuantDotScalar.Q4_0(w, qx, dx, sums, blocks32),
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
