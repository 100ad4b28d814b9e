using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

[assembly: InternalsVisibleTo("VllmSharp.Kernels.Tests")]
[assembly: InternalsVisibleTo("VllmSharp.KernelBench")]

namespace VllmSharp.Kernels;

/// <summary>
/// Linear layers: y = x · Wᵀ with weights used in place in their stored dtype (F32, F16, BF16, or ggml block-quantized
/// Q8_0/Q4_0/Q5_0/Q4_K/Q6_K; see MatMulQuant.cs) and f32 accumulation.
/// Decode-sized batches take a bandwidth-bound GEMV path that streams each weight row once; larger batches take a
/// cache-blocked GEMM path that converts panels of weights to f32 once and reuses them for all activation rows.
/// Work is split over output rows across <see cref="WorkerPool.Shared"/>.
/// </summary>
public static unsafe partial class MatMul
{
    /// <summary>Largest m that takes the GEMV path (measured crossover ≈ 16 on Zen 5 for 896×4864 and 4864×896 bf16 with the
    /// row-streaming GEMV; `KernelBench crossover` in bench/VllmSharp.KernelBench).</summary>
    internal static int GemvMaxRows = 16;

    /// <summary>Benchmark switch: run the parallel loop on Parallel.For instead of <see cref="WorkerPool"/>.</summary>
    internal static bool UseParallelFor;

    /// <summary>Test hook, per calling thread: 0 = auto, 1 = scalar, 2 = 256-bit, 3 = 512-bit (if supported).</summary>
    [ThreadStatic] internal static int ForcedTier;

    /// <summary>Test hook, per calling thread: 0 = auto, 1 = always GEMV, 2 = always GEMM.</summary>
    [ThreadStatic] internal static int ForcedPath;

    /// <summary>y = x · Wᵀ for a single weight: x is m×k, W is n×k, y is m×n (all row-major).</summary>
    public static void Forward(ReadOnlySpan<float> x, int m, WeightMatrix weight, Span<float> y)
        => Forward(x, m, new ReadOnlySpan<WeightMatrix>(in weight), y);

    /// <summary>
    /// y = x · Wⱼᵀ for several weights sharing k (fused q/k/v or gate/up) in one parallel loop. y holds the outputs
    /// one after another: block j is m × weights[j].Rows, starting at m × (rows of the weights before j).
    /// </summary>
    public static void Forward(ReadOnlySpan<float> x, int m, ReadOnlySpan<WeightMatrix> weights, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        if (weights.IsEmpty) throw new ArgumentException("At least one weight matrix is required.", nameof(weights));
        int k = weights[0].Cols;
        long totalRows = 0;
        bool anyQuantized = false;
        for (int j = 0; j < weights.Length; j++)
        {
            WeightMatrix wj = weights[j];
            if (wj.Cols != k)
                throw new ArgumentException($"All weights must have the same Cols (k): weights[0] has {k}, weights[{j}] has {wj.Cols}.", nameof(weights));
            if (wj.Rows < 0 || wj.Cols < 0)
                throw new ArgumentException($"weights[{j}] has a negative shape {wj.Rows}×{wj.Cols}.", nameof(weights));
            if (wj.Type is not (DType.F32 or DType.F16 or DType.BF16) && !wj.Type.IsQuantized())
                throw new ArgumentException($"weights[{j}] has unsupported dtype {wj.Type}.", nameof(weights));
            if (wj.Cols % wj.Type.BlockSize() != 0)
                throw new ArgumentException($"weights[{j}] is {wj.Type}, whose rows must hold a multiple of {wj.Type.BlockSize()} values; k = {wj.Cols}.", nameof(weights));
            if (wj.Data == 0 && wj.SizeInBytes > 0)
                throw new ArgumentException($"weights[{j}] has no data.", nameof(weights));
            anyQuantized |= wj.Type.IsQuantized();
            totalRows += wj.Rows;
        }
        if (x.Length != (long)m * k)
            throw new ArgumentException($"x must hold m×k = {m}×{k} = {(long)m * k} floats but has {x.Length}.", nameof(x));
        if (y.Length != m * totalRows)
            throw new ArgumentException($"y must hold m×(total rows) = {m}×{totalRows} = {m * totalRows} floats but has {y.Length}.", nameof(y));
        if (m == 0 || totalRows == 0) return;
        if (k == 0)
        {
            y.Clear(); // empty dot products
            return;
        }

        fixed (float* px = x)
        fixed (float* py = y)
        fixed (WeightMatrix* pw = weights)
        {
            int tier = ForcedTier != 0 ? ForcedTier : 3;
            if (anyQuantized)
            {
                ForwardWithQuantized(px, m, k, pw, weights.Length, totalRows, py, tier);
                return;
            }
            Dispatch(px, m, k, pw, weights.Length, totalRows, py, tier, default);
        }
    }

    private static void Dispatch(float* px, int m, int k, WeightMatrix* pw, int count, long totalRows, float* py, int tier, QuantizedActivations qx)
    {
        if (tier >= 3 && Vector512.IsHardwareAccelerated)
            Run<Ops512, Vector512<float>>(px, m, k, pw, count, totalRows, py, qx);
        else if (tier >= 2 && Vector256.IsHardwareAccelerated)
            Run<Ops256, Vector256<float>>(px, m, k, pw, count, totalRows, py, qx);
        else
            Run<OpsScalar, float>(px, m, k, pw, count, totalRows, py, qx);
    }

    private static void Run<TOps, TV>(float* x, int m, int k, WeightMatrix* weights, int weightCount, long totalRows, float* y, QuantizedActivations qx)
        where TOps : struct, IVectorOps<TV> where TV : struct
    {
        int threads = UseParallelFor ? Environment.ProcessorCount : WorkerPool.Shared.ThreadCount;
        bool gemm = ForcedPath != 0 ? ForcedPath == 2 : m > GemvMaxRows;
        int chunk;
        // Calls whose weights are all Q8_0 run Q8Gemm on the GEMM path too: its row-range tasks balance like GEMV ones.
        if (gemm && !qx.AllQ8Gemm)
        {
            // Enough column panels for balance, but each as wide as GemmNc allows to amortise packing.
            int nr = TOps.StripVectors * TOps.Count;
            long perTask = (totalRows + threads * 4 - 1) / (threads * 4);
            chunk = (int)Math.Clamp((perTask + nr - 1) / nr * nr, nr, Math.Max(nr, GemmNc));
        }
        else
        {
            // ~8 tasks per thread balance uneven progress; at least 16 rows keep per-task overhead small.
            long perTask = (totalRows + threads * 8 - 1) / (threads * 8);
            chunk = (int)Math.Max(16, (perTask + GemvRowBlock - 1) / GemvRowBlock * GemvRowBlock);
        }

        int tasks = 0;
        for (int j = 0; j < weightCount; j++) tasks += (weights[j].Rows + chunk - 1) / chunk;

        var job = new LinearJob<TOps, TV>
        {
            X = x, M = m, K = k, Weights = weights, WeightCount = weightCount, Y = y, Chunk = chunk, Gemm = gemm, Qx = qx,
        };
        if (UseParallelFor) RunOnParallelFor(tasks, job);
        else WorkerPool.Shared.For(tasks, ref job);
    }

    // Separate method: a lambda capturing `job` in Run would allocate its closure on every call, used or not.
    private static void RunOnParallelFor<TJob>(int tasks, TJob job) where TJob : struct, IParallelJob
        => Parallel.For(0, tasks, i => job.Execute(i));

    /// <summary>Task i covers one chunk of output rows of one weight; tasks of all weights form one loop.</summary>
    private struct LinearJob<TOps, TV> : IParallelJob where TOps : struct, IVectorOps<TV> where TV : struct
    {
        public float* X;
        public int M, K;
        public WeightMatrix* Weights;
        public int WeightCount;
        public float* Y;
        public int Chunk;
        public bool Gemm;
        public QuantizedActivations Qx;

        public readonly void Execute(int index)
        {
            float* y = Y;
            for (int j = 0; j < WeightCount; j++)
            {
                WeightMatrix w = Weights[j];
                int tasks = (w.Rows + Chunk - 1) / Chunk;
                if (index < tasks)
                {
                    int start = index * Chunk, end = Math.Min(w.Rows, start + Chunk);
                    switch (w.Type)
                    {
                        case DType.F32: Range<LoadF32>((byte*)w.Data, w.Rows, start, end, y); break;
                        case DType.F16: Range<LoadF16>((byte*)w.Data, w.Rows, start, end, y); break;
                        case DType.BF16: Range<LoadBf16>((byte*)w.Data, w.Rows, start, end, y); break;
                        default:
                            if (Gemm && !QuantOnGemmPath(w, Qx)) GemmRange<TOps, TV, LoadF32>(X, M, K, (byte*)w.Data, start, end, y, w.Rows, w.Type);
                            else QuantRange(w, start, end, y, M, Qx);
                            break;
                    }
                    return;
                }
                index -= tasks;
                y += (long)M * w.Rows;
            }
        }

        private readonly void Range<TW>(byte* w, int ldy, int start, int end, float* y) where TW : struct, IWeightLoad
        {
            if (Gemm) GemmRange<TOps, TV, TW>(X, M, K, w, start, end, y, ldy);
            else GemvRange<TOps, TV, TW>(X, M, K, w, start, end, y, ldy);
        }
    }
}
