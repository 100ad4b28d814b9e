using System.Runtime.InteropServices;
using VllmSharp.Kernels;
using VllmSharp.Kernels.Quant;

/// <summary>
/// Load-independent kernel cost: each quantized GEMV kernel runs on the calling thread only (no pool) over a weight
/// hot in L2/L3, timed by this thread's CPU time (CLOCK_THREAD_CPUTIME_ID) rather than wall time, so time the thread
/// spends descheduled on a shared machine does not count. Reported as weight GB per CPU-second: a kernel must
/// exceed DRAM bandwidth / threads (≈ 20–24 GB/s per core here) to be memory-bound in decode.
/// </summary>
internal static unsafe class KernelCpuBench
{
    public static void Run()
    {
        // QCPU_TYPES=Q6_K,Q4_K limits the run to those types (profiling one kernel).
        string? only = Environment.GetEnvironmentVariable("QCPU_TYPES");
        foreach (QuantType type in new[] { QuantType.Q8_0, QuantType.Q4_0, QuantType.Q5_0, QuantType.Q4_K, QuantType.Q6_K })
        {
            if (only is not null && !only.Split(',').Contains(type.ToString())) continue;
            foreach ((int n, int k) in new[] { (1024, 896), (256, 4864), (512, 2048), (64, 4864) })
            {
                if (k % QuantFormat.BlockElements(type) != 0) continue;
                foreach (int m in new[] { 1, 4 })
                {
                    double fresh = Measure(type, n, k, m, legacy: false), old = Measure(type, n, k, m, legacy: true);
                    Console.WriteLine($"1 thread {type,-4} {n}x{k} m={m}: {fresh,6:F1} GB/CPU-s (previous kernel {old,5:F1}; x{fresh / old:F2})");
                    if (type is QuantType.Q4_K or QuantType.Q6_K)
                        Console.WriteLine($"         {type,-4} {n}x{k} m={m}: 256-bit AVX-VNNI kernel {Measure(type, n, k, m, legacy: false, tier: 3),6:F1} GB/CPU-s");
                }
            }
        }
    }

    private static double Measure(QuantType type, int n, int k, int m, bool legacy, int tier = 0)
    {
        long rowBytes = QuantFormat.RowBytes(type, k);
        byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)(rowBytes * n), 64);
        int blocks32 = k / 32;
        sbyte* qx = (sbyte*)NativeMemory.Alloc((nuint)QuantMatMul.ActivationBytes(m, k));
        float* dx = (float*)NativeMemory.Alloc((nuint)(m * blocks32 * 4));
        float* sums = (float*)NativeMemory.Alloc((nuint)(m * blocks32 * 8));
        int* blockSums = (int*)NativeMemory.Alloc((nuint)(m * blocks32 * 4));
        float* y = (float*)NativeMemory.Alloc((nuint)(m * n * 4));
        try
        {
            var rng = new Random(4);
            float[] row = new float[k];
            for (int r = 0; r < n; r++)
            {
                for (int c = 0; c < k; c++) row[c] = (float)(rng.NextDouble() * 0.2 - 0.1);
                Quantizer.Quantize(row, type, new Span<byte>(w + r * rowBytes, (int)rowBytes));
            }
            float[] x = new float[m * k];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
            fixed (float* px = x) QuantMatMul.QuantizeActivations(px, m, k, qx, dx, sums, blockSums);

            QuantMatMul.LegacyVnni = legacy;
            QuantMatMul.LegacyKQuant = legacy;
            int kernel = QuantMatMul.KernelFor(type, tier);
            double best = double.MaxValue;
            for (int rep = 0; rep < 7; rep++)
            {
                double t0 = ThreadCpuClock.Seconds();
                for (int i = 0; i < 40; i++) QuantMatMul.RowRange(kernel, w, rowBytes, 0, n, qx, dx, sums, blockSums, m, k, y, n);
                best = Math.Min(best, (ThreadCpuClock.Seconds() - t0) / 40);
            }
            QuantMatMul.LegacyVnni = false;
            QuantMatMul.LegacyKQuant = false;
            return rowBytes * n * (double)m / best / 1e9; // weight bytes consumed per activation row
        }
        finally
        {
            NativeMemory.AlignedFree(w);
            NativeMemory.Free(qx); NativeMemory.Free(dx); NativeMemory.Free(sums); NativeMemory.Free(blockSums); NativeMemory.Free(y);
        }
    }
}
