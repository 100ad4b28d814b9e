using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels;

/// <summary>
/// Measures the two limits that bound inference on this machine, so benchmarks can report fractions of them:
/// memory read bandwidth (bounds decode) and the f32 FMA peak (bounds prefill). Each runs on dedicated threads
/// started together and reports the best of a few repetitions.
/// </summary>
public static class MachineLimits
{
    private const int Repetitions = 3;

    /// <summary>STREAM-style read bandwidth in GB/s: every thread sums its own slice of a 1 GiB buffer.</summary>
    public static unsafe double MeasureReadBandwidthGBs(int threads)
    {
        const long bytes = 1L << 30;
        float* data = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            long count = bytes / sizeof(float);
            new Span<float>(data, (int)Math.Min(count, int.MaxValue)).Fill(1f); // touch every page first
            long perThread = count / threads / 64 * 64;
            double best = 0;
            for (int rep = 0; rep < Repetitions; rep++)
            {
                double seconds = RunOnThreads(threads, t => Sink(SumSlice(data + t * perThread, perThread)));
                best = Math.Max(best, perThread * threads * sizeof(float) / seconds / 1e9);
            }
            return best;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(data);
        }
    }

    /// <summary>f32 FMA peak in GFLOP/s (2 flops per lane per FMA) with 12 independent vector accumulators per thread
    /// (4 scalar ones on the scalar tier).</summary>
    public static double MeasureFmaPeakGflops(int threads)
    {
        const int iterations = 20_000_000;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;
        int chains = lanes == 1 ? 4 : 12;
        double best = 0;
        for (int rep = 0; rep < Repetitions; rep++)
        {
            double seconds = RunOnThreads(threads, _ => Sink(lanes switch
            {
                16 => Fma512(iterations),
                8 => Fma256(iterations),
                _ => FmaScalar(iterations),
            }));
            best = Math.Max(best, 2.0 * chains * lanes * iterations * threads / seconds / 1e9);
        }
        return best;
    }

    private static double RunOnThreads(int threads, Action<int> work)
    {
        using var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() => { start.SignalAndWait(); work(index); });
            workers[t].Start();
        }
        start.SignalAndWait();
        var clock = Stopwatch.StartNew();
        foreach (Thread worker in workers) worker.Join();
        return clock.Elapsed.TotalSeconds;
    }

    private static volatile float s_sink;

    private static void Sink(float value) => s_sink = value;

    private static unsafe float SumSlice(float* p, long count)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a = default, b = default, c = default, d = default;
            for (long i = 0; i < count; i += 64)
            {
                a += Vector512.Load(p + i);
                b += Vector512.Load(p + i + 16);
                c += Vector512.Load(p + i + 32);
                d += Vector512.Load(p + i + 48);
            }
            return Vector512.Sum(a + b + c + d);
        }
        Vector256<float> e = default, f = default, g = default, h = default;
        for (long i = 0; i < count; i += 32)
        {
            e += Vector256.Load(p + i);
            f += Vector256.Load(p + i + 8);
            g += Vector256.Load(p + i + 16);
            h += Vector256.Load(p + i + 24);
        }
        return Vector256.Sum(e + f + g + h);
    }

    private static float Fma512(int iterations)
    {
        Vector512<float> x = Vector512.Create(0.999f), y = Vector512.Create(1e-7f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y); a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y); a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y); a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y); a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y); a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y); a11 = Vector512.FusedMultiplyAdd(a11, x, y);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    private static float Fma256(int iterations)
    {
        Vector256<float> x = Vector256.Create(0.999f), y = Vector256.Create(1e-7f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, x, y); a1 = Vector256.FusedMultiplyAdd(a1, x, y);
            a2 = Vector256.FusedMultiplyAdd(a2, x, y); a3 = Vector256.FusedMultiplyAdd(a3, x, y);
            a4 = Vector256.FusedMultiplyAdd(a4, x, y); a5 = Vector256.FusedMultiplyAdd(a5, x, y);
            a6 = Vector256.FusedMultiplyAdd(a6, x, y); a7 = Vector256.FusedMultiplyAdd(a7, x, y);
            a8 = Vector256.FusedMultiplyAdd(a8, x, y); a9 = Vector256.FusedMultiplyAdd(a9, x, y);
            a10 = Vector256.FusedMultiplyAdd(a10, x, y); a11 = Vector256.FusedMultiplyAdd(a11, x, y);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    private static float FmaScalar(int iterations)
    {
        float x = 0.999f, y = 1e-7f, a0 = x, a1 = x, a2 = x, a3 = x;
        for (int i = 0; i < iterations; i++)
        {
            a0 = MathF.FusedMultiplyAdd(a0, x, y); a1 = MathF.FusedMultiplyAdd(a1, x, y);
            a2 = MathF.FusedMultiplyAdd(a2, x, y); a3 = MathF.FusedMultiplyAdd(a3, x, y);
        }
        return a0 + a1 + a2 + a3;
    }
}
