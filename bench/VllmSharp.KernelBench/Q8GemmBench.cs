using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VllmSharp.Kernels;
using VllmSharp.Kernels.Quant;

/// <summary>
/// Q8_0 matmul cost per core for the Qwen2.5-0.5B shapes at decode and prefill batch sizes: MatMul.Forward runs on
/// one thread (inside a one-item loop of a private pool, so the shared pool runs it serially) and is timed by that
/// thread's CPU time, so time spent descheduled on a shared machine does not count. Reported as GMAC per CPU-second
/// next to the previous kernels (Q8Gemm.Enabled = false) and the single-core AVX-VNNI peak measured in the same run.
/// </summary>
internal static unsafe class Q8GemmBench
{
    private const int Hidden = 896, Kv = 128, Inter = 4864, Vocab = 151936;

    /// <param name="filter">"" = all shapes; otherwise a shape name prefix (qkv, o, gateup, down, head).</param>
    public static void Run(string filter)
    {
        double peak = 0;
        OnOneThread(() => peak = VnniPeakGmacs());
        Console.WriteLine($"AVX-VNNI peak, 1 thread (256-bit VPDPBUSD, 12 independent chains): {peak:F1} GMAC/CPU-s");
        (string Name, int[] Rows, int K)[] shapes =
        [
            ("qkv", [Hidden, Kv, Kv], Hidden),
            ("o", [Hidden], Hidden),
            ("gateup", [Inter, Inter], Hidden),
            ("down", [Hidden], Inter),
            ("head", [Vocab], Hidden),
        ];
        foreach ((string name, int[] rows, int k) in shapes)
        {
            if (filter.Length > 0 && !name.StartsWith(filter, StringComparison.Ordinal)) continue;
            var weights = new WeightMatrix[rows.Length];
            for (int j = 0; j < rows.Length; j++) weights[j] = QwenShapeBench.Fill(DType.Q8_0, rows[j], k, 11 + j);
            int n = 0;
            foreach (int r in rows) n += r;
            try
            {
                foreach (int m in new[] { 1, 4, 8, 16, 64, 512 })
                {
                    if (name == "head" && m > 64) continue; // lm_head runs on the last token of each sequence only
                    double fresh = 0, old = 0;
                    OnOneThread(() =>
                    {
                        Q8Gemm.Enabled = false;
                        old = Measure(weights, n, k, m);
                        Q8Gemm.Enabled = true;
                        fresh = Measure(weights, n, k, m);
                    });
                    Console.WriteLine($"Q8_0 {name,-6} {n,6}x{k,-4} m={m,-3}: {fresh,6:F1} GMAC/CPU-s = {fresh / peak,4:P0} of VNNI peak (previous {old,6:F1}; x{fresh / old:F2})");
                }
            }
            finally
            {
                foreach (WeightMatrix w in weights) NativeMemory.AlignedFree((void*)w.Data);
            }
        }
    }

    /// <summary>
    /// Q8Gemm.RowRange alone, weights and activations hot in L1/L2, then the per-call activation quantization and
    /// packing it needs, timed separately.
    /// </summary>
    public static void KernelOnly()
    {
        foreach ((int n, int k) in new[] { (96, 896), (24, 4864) })
            foreach (int m in new[] { 8, 16, 64 })
                OnOneThread(() =>
                {
                    WeightMatrix w = QwenShapeBench.Fill(DType.Q8_0, n, k, 3);
                    var rng = new Random(5);
                    float[] x = new float[m * k], y = new float[m * n];
                    for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
                    int blocks = k / 32;
                    sbyte* qx = (sbyte*)NativeMemory.AlignedAlloc((nuint)QuantMatMul.ActivationBytes(m, k), 64);
                    float* dx = (float*)NativeMemory.AlignedAlloc((nuint)(m * blocks * 4), 64);
                    float* sums = (float*)NativeMemory.AlignedAlloc((nuint)(m * blocks * 8), 64);
                    int* bs = (int*)NativeMemory.AlignedAlloc((nuint)(m * blocks * 4), 64);
                    sbyte* codes = (sbyte*)NativeMemory.AlignedAlloc((nuint)Q8GemmActivations.CodeBytes(m, k), 64);
                    int* offsets = (int*)NativeMemory.AlignedAlloc((nuint)(Q8GemmActivations.BlockEntries(m, k) * 4), 64);
                    float* scales = (float*)NativeMemory.AlignedAlloc((nuint)(Q8GemmActivations.BlockEntries(m, k) * 4), 64);
                    fixed (float* px = x) QuantMatMul.QuantizeActivations(px, m, k, qx, dx, sums, bs);
                    var act = Q8GemmActivations.Pack(qx, dx, bs, m, k, codes, offsets, scales);
                    fixed (float* py = y)
                    {
                        for (int i = 0; i < 200; i++) Q8Gemm.RowRange((byte*)w.Data, w.Type.RowBytes(k), 0, n, act, py, n);
                        Thread.Sleep(150);
                        double best = double.MaxValue;
                        for (int round = 0; round < 5; round++)
                        {
                            double t0 = ThreadCpuClock.Seconds();
                            for (int i = 0; i < 200; i++) Q8Gemm.RowRange((byte*)w.Data, w.Type.RowBytes(k), 0, n, act, py, n);
                            best = Math.Min(best, (ThreadCpuClock.Seconds() - t0) / 200);
                        }
                        double prep = double.MaxValue;
                        for (int round = 0; round < 5; round++)
                        {
                            double t0 = ThreadCpuClock.Seconds();
                            for (int i = 0; i < 200; i++)
                                fixed (float* px = x)
                                    for (int row = 0; row < m; row++) // what MatMul does when every quantized weight is Q8_0
                                        ActivationQuantizer.Quantize(px + row * k, k, qx + row * k, dx + row * blocks, sums + row * blocks * 2, bs + row * blocks);
                            prep = Math.Min(prep, (ThreadCpuClock.Seconds() - t0) / 200);
                        }
                        double pack = double.MaxValue;
                        for (int round = 0; round < 5; round++)
                        {
                            double t0 = ThreadCpuClock.Seconds();
                            for (int i = 0; i < 200; i++) Q8GemmActivations.Pack(qx, dx, bs, m, k, codes, offsets, scales);
                            pack = Math.Min(pack, (ThreadCpuClock.Seconds() - t0) / 200);
                        }
                        Console.WriteLine($"Q8Gemm.RowRange only {n}x{k} m={m}: {(double)m * n * k / best / 1e9:F1} GMAC/CPU-s ({best * 1e6:F1} us); quantize {prep * 1e6:F1} us, pack {pack * 1e6:F1} us");
                    }
                    NativeMemory.AlignedFree((void*)w.Data);
                    NativeMemory.AlignedFree(qx); NativeMemory.AlignedFree(dx); NativeMemory.AlignedFree(sums); NativeMemory.AlignedFree(bs);
                    NativeMemory.AlignedFree(codes); NativeMemory.AlignedFree(offsets); NativeMemory.AlignedFree(scales);
                });
    }

    /// <summary>Best of 3 rounds, each ≥ 60 ms of CPU time, of whole MatMul.Forward calls (activation quantization included).</summary>
    private static double Measure(WeightMatrix[] weights, int n, int k, int m)
    {
        var rng = new Random(m);
        float[] x = new float[m * k], y = new float[m * n];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        // Warm-up long enough for tiered JIT to have promoted the kernels (30 calls, then a background recompile).
        double w0 = ThreadCpuClock.Seconds();
        for (int i = 0; i < 35 && ThreadCpuClock.Seconds() - w0 < 0.4; i++) MatMul.Forward(x, m, weights, y);
        Thread.Sleep(100);
        double best = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            int calls = 0;
            double t0 = ThreadCpuClock.Seconds(), t;
            do
            {
                MatMul.Forward(x, m, weights, y);
                calls++;
            } while ((t = ThreadCpuClock.Seconds() - t0) < 0.06);
            best = Math.Min(best, t / calls);
        }
        return (double)m * n * k / best / 1e9;
    }

    private static double VnniPeakGmacs()
    {
        if (!AvxVnni.IsSupported) return double.NaN;
        const int iterations = 20_000_000;
        double best = double.MaxValue;
        int sink = 0;
        for (int round = 0; round < 4; round++)
        {
            double t0 = ThreadCpuClock.Seconds();
            sink += VnniChains(iterations);
            best = Math.Min(best, ThreadCpuClock.Seconds() - t0);
        }
        if (sink == 42) Console.Write(""); // keeps the chains live
        return 12.0 * 32 * iterations / best / 1e9;
    }

    /// <summary>12 independent VPDPBUSD chains, all in registers (a separate, fully optimised method so no chain spills).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static int VnniChains(int iterations)
    {
        Vector256<byte> a = Vector256.Create((byte)3);
        Vector256<sbyte> b = Vector256.Create((sbyte)-2);
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector256<int> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (int i = 0; i < iterations; i++)
        {
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, a, b); c1 = AvxVnni.MultiplyWideningAndAdd(c1, a, b);
            c2 = AvxVnni.MultiplyWideningAndAdd(c2, a, b); c3 = AvxVnni.MultiplyWideningAndAdd(c3, a, b);
            c4 = AvxVnni.MultiplyWideningAndAdd(c4, a, b); c5 = AvxVnni.MultiplyWideningAndAdd(c5, a, b);
            c6 = AvxVnni.MultiplyWideningAndAdd(c6, a, b); c7 = AvxVnni.MultiplyWideningAndAdd(c7, a, b);
            c8 = AvxVnni.MultiplyWideningAndAdd(c8, a, b); c9 = AvxVnni.MultiplyWideningAndAdd(c9, a, b);
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, a, b); c11 = AvxVnni.MultiplyWideningAndAdd(c11, a, b);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    /// <summary>
    /// Runs body on one thread with the shared pool's parallel loops made serial: inside an item of another pool's
    /// loop, WorkerPool runs nested loops on the calling thread.
    /// </summary>
    private static void OnOneThread(Action body)
    {
        using var pool = new WorkerPool(2);
        var job = new BodyJob { Body = body };
        pool.For(2, ref job);
    }

    private struct BodyJob : IParallelJob
    {
        public Action Body;

        public readonly void Execute(int index)
        {
            if (index == 0) Body();
        }
    }
}
