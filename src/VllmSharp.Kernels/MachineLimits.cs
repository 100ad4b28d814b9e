using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels;

/// <summary>
/// The two hardware limits that bound inference on CPU, measured in-process so results can be reported as a fraction
/// of what this machine can do right now: DRAM read bandwidth (decode) and peak f32 FMA throughput (prefill).
/// Each runs on dedicated threads (not the engine's pool) and reports the best of several repetitions.
/// </summary>
public static unsafe class MachineLimits
{
    /// <summary>STREAM-style read bandwidth in GB/s (10^9 bytes/s): each thread sums its own slice of a buffer much larger than L3.</summary>
    public static double MeasureReadBandwidthGBs(int threads)
    {
        const long bytes = 512L << 20; // 16× the 32 MiB L3, so every pass comes from DRAM
        // 2 MiB-aligned and advised onto transparent huge pages, as the weights the engine converts itself are.
        // Even so this probe reads ~48 GB/s here while f32 decode streams up to 60 GB/s: treat it as a lower bound.
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 2 << 20);
        if (OperatingSystem.IsLinux()) _ = Madvise((nint)buffer, (nuint)bytes, 14 /* MADV_HUGEPAGE */);
        try
        {
            // Fault the pages in with distinct contents: identical pages can be merged by the host (KSM/dedup) and
            // then read from cache, which reported up to 300 GB/s here.
            var words = new Span<uint>(buffer, (int)(bytes / sizeof(uint)));
            for (int i = 0; i < words.Length; i++) words[i] = (uint)i * 2654435761u;
            long slice = bytes / threads / 256 * 256;
            // Alternately with and without software prefetch (the kernels prefetch; on some machines the hardware
            // prefetchers alone keep too few reads in flight and the plain loop reads well below the limit).
            double best = 0;
            for (int rep = 0; rep < 6; rep++)
            {
                bool prefetch = rep % 2 == 1;
                double seconds = RunOnThreads(threads, t => SumBytes(buffer + t * slice, slice, prefetch));
                best = Math.Max(best, slice * threads / seconds / 1e9);
            }
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>Peak f32 GFLOP/s (an FMA counts 2): 12 independent accumulators per thread hide the FMA latency.</summary>
    public static double MeasureFmaPeakGflops(int threads)
    {
        const long iterations = 20_000_000;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;
        double best = 0;
        for (int rep = 0; rep < 3; rep++)
        {
            double seconds = RunOnThreads(threads, _ => FmaLoop(iterations));
            best = Math.Max(best, threads * iterations * 12.0 * lanes * 2 / seconds / 1e9);
        }
        return best;
    }

    /// <summary>
    /// Runs <paramref name="work"/> once per thread after a warm-up and returns the wall time from the first
    /// thread's start to the last one's end. Timestamps are taken inside the workers: with as many workers as
    /// cores, a coordinating thread may not get a core back until a worker is done, and timing there overstated
    /// the bandwidth several times over.
    /// </summary>
    private static double RunOnThreads(int threads, Func<int, float> work)
    {
        using var start = new Barrier(threads);
        float sink = 0;
        long[] begin = new long[threads], finish = new long[threads];
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                work(index); // warm-up (JIT, TLB)
                start.SignalAndWait();
                begin[index] = Stopwatch.GetTimestamp();
                float r = work(index);
                finish[index] = Stopwatch.GetTimestamp();
                Interlocked.Exchange(ref sink, r);
            });
            workers[t].Start();
        }
        foreach (Thread w in workers) w.Join();
        GC.KeepAlive(sink);
        return (finish.Max() - begin.Min()) / (double)Stopwatch.Frequency;
    }

    /// <summary>Sums a slice with integer adds (any bit pattern is fine: no denormal or NaN slow paths).</summary>
    private static float SumBytes(byte* p, long length, bool prefetch)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            // Two halves of the slice read side by side: two streams per core keep more misses in flight.
            Vector512<uint> a0 = default, a1 = default, a2 = default, a3 = default;
            long half = length / 2 / 128 * 128;
            byte* q = p + half;
            for (long i = 0; i < half; i += 128)
            {
                if (prefetch)
                {
                    StreamPrefetch.Ahead(p + i, 2);
                    StreamPrefetch.Ahead(q + i, 2);
                }
                a0 += Vector512.Load((uint*)(p + i));
                a1 += Vector512.Load((uint*)(p + i + 64));
                a2 += Vector512.Load((uint*)(q + i));
                a3 += Vector512.Load((uint*)(q + i + 64));
            }
            return Vector512.Sum(a0 + a1 + a2 + a3);
        }
        Vector256<uint> b0 = default, b1 = default, b2 = default, b3 = default;
        for (long i = 0; i < length; i += 128)
        {
            if (prefetch) StreamPrefetch.Ahead(p + i, 2);
            b0 += Vector256.Load((uint*)(p + i));
            b1 += Vector256.Load((uint*)(p + i + 32));
            b2 += Vector256.Load((uint*)(p + i + 64));
            b3 += Vector256.Load((uint*)(p + i + 96));
        }
        return Vector256.Sum(b0 + b1 + b2 + b3);
    }

    private static float FmaLoop(long iterations)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> m = Vector512.Create(0.999999f), c = Vector512.Create(1e-7f);
            // Distinct starting values: identical chains could be merged by the JIT and overstate the peak.
            Vector512<float> a0 = Vector512.Create(1f), a1 = Vector512.Create(2f), a2 = Vector512.Create(3f), a3 = Vector512.Create(4f);
            Vector512<float> a4 = Vector512.Create(5f), a5 = Vector512.Create(6f), a6 = Vector512.Create(7f), a7 = Vector512.Create(8f);
            Vector512<float> a8 = Vector512.Create(9f), a9 = Vector512.Create(10f), a10 = Vector512.Create(11f), a11 = Vector512.Create(12f);
            for (long i = 0; i < iterations; i++)
            {
                a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
                a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
                a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
                a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
                a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
                a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
        }
        else
        {
            Vector256<float> m = Vector256.Create(0.999999f), c = Vector256.Create(1e-7f);
            // Distinct starting values: identical chains could be merged by the JIT and overstate the peak.
            Vector256<float> a0 = Vector256.Create(1f), a1 = Vector256.Create(2f), a2 = Vector256.Create(3f), a3 = Vector256.Create(4f);
            Vector256<float> a4 = Vector256.Create(5f), a5 = Vector256.Create(6f), a6 = Vector256.Create(7f), a7 = Vector256.Create(8f);
            Vector256<float> a8 = Vector256.Create(9f), a9 = Vector256.Create(10f), a10 = Vector256.Create(11f), a11 = Vector256.Create(12f);
            for (long i = 0; i < iterations; i++)
            {
                a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
                a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
                a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
                a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
                a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
                a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
            }
            return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
        }
    }
}
