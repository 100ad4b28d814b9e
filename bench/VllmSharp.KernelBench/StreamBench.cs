using System.Diagnostics;
using System.Runtime.InteropServices;
using VllmSharp.Kernels;

/// <summary>
/// Decode GEMV streaming. <c>pages</c>: the Qwen2.5-0.5B Q8_0 layer set from 4 KiB pages vs transparent huge pages
/// (twice in memory, timed alternately in one run: the VM's bandwidth drifts), then per shape. <c>hot</c>: each decode
/// kernel on L3-resident weights after the JIT has settled, i.e. its compute rate: a kernel much slower hot than the
/// DRAM bandwidth cannot stream at that bandwidth.
/// </summary>
internal static unsafe class StreamBench
{
    [DllImport("libc", EntryPoint = "madvise")] private static extern int Madvise(nint address, nuint length, int advice);

    public static void Run()
    {
        WeightMatrix[] plain = Build(false), huge = Build(true);
        float[] x = new float[4864], y = new float[151936];
        new Random(1).NextBytes(MemoryMarshal.AsBytes(x.AsSpan()));
        for (int i = 0; i < x.Length; i++) x[i] = (i % 17) * 0.01f - 0.08f;
        double Pass(WeightMatrix[] set)
        {
            long t0 = Stopwatch.GetTimestamp();
            foreach (WeightMatrix w in set) MatMul.Forward(x.AsSpan(0, w.Cols), 1, w, y.AsSpan(0, w.Rows));
            return Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Pass(plain); Pass(huge); Pass(plain); Pass(huge);
        const int reps = 21;
        var a = new double[reps]; var b = new double[reps];
        for (int i = 0; i < reps; i++) { a[i] = Pass(plain); b[i] = Pass(huge); }
        Array.Sort(a); Array.Sort(b);
        long bytes = plain.Sum(w => w.SizeInBytes);
        Console.WriteLine($"q8_0 decode weights {bytes / 1e6:F0} MB: 4K pages {bytes / a[reps / 2] / 1e9:F1} GB/s median ({bytes / a[0] / 1e9:F1} best), THP {bytes / b[reps / 2] / 1e9:F1} GB/s median ({bytes / b[0] / 1e9:F1} best)");
        Console.WriteLine(File.ReadAllLines("/proc/meminfo").First(l => l.StartsWith("AnonHugePages")));
        // Per shape: the same matrices, one shape at a time (all 24 layers' copies), THP set.
        foreach (int shape in new[] { 0, 1, 2, 3, 4 })
        {
            WeightMatrix[] subset = huge.Where((w, i) => i == 96 ? shape == 4 : i % 4 == shape).ToArray();
            var t = new double[reps];
            Pass(subset);
            for (int i = 0; i < reps; i++) t[i] = Pass(subset);
            Array.Sort(t);
            long sb = subset.Sum(w => w.SizeInBytes);
            Console.WriteLine($"  {subset[0].Rows}x{subset[0].Cols} x{subset.Length}: {sb / t[reps / 2] / 1e9:F1} GB/s median, {t[reps / 2] / subset.Length * 1e6:F0} us per call");
        }
    }

    /// <summary>Hot (L3-resident) per-call time by type and shape, after the JIT has settled: the kernels' compute rate.</summary>
    public static void Hot()
    {
        float[] x = new float[8192], y = new float[16384];
        for (int i = 0; i < x.Length; i++) x[i] = (i % 17) * 0.01f - 0.08f;
        foreach (DType type in new[] { DType.Q8_0, DType.Q5_0, DType.Q4_K, DType.Q6_K, DType.F16 })
            foreach ((int r, int c) in new[] { (4864, 896), (896, 4864), (2048, 2048), (4096, 2048), (2048, 8192) })
            {
                if (c % type.BlockSize() != 0) continue;
                WeightMatrix w = QwenShapeBench.Fill(type, r, c, 1);
                long t0 = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(t0).TotalSeconds < 0.6) MatMul.Forward(x.AsSpan(0, c), 1, w, y.AsSpan(0, r));
                var t = new double[300];
                for (int i = 0; i < t.Length; i++)
                {
                    long t1 = Stopwatch.GetTimestamp();
                    MatMul.Forward(x.AsSpan(0, c), 1, w, y.AsSpan(0, r));
                    t[i] = Stopwatch.GetElapsedTime(t1).TotalSeconds;
                }
                Array.Sort(t);
                Console.WriteLine($"hot {type,-4} {r}x{c}: median {t[150] * 1e6:F1} us = {w.SizeInBytes / t[150] / 1e9:F1} GB/s ({w.SizeInBytes / t[0] / 1e9:F1} best)");
                NativeMemory.AlignedFree((void*)w.Data);
            }
    }

    private static WeightMatrix[] Build(bool thp)
    {
        var list = new List<WeightMatrix>();
        for (int l = 0; l < 24; l++)
            foreach ((int r, int c) in new[] { (1152, 896), (896, 896), (9728, 896), (896, 4864) }) list.Add(Make(r, c, thp, l));
        list.Add(Make(151936, 896, thp, 99));
        return list.ToArray();
    }

    private static WeightMatrix Make(int rows, int cols, bool thp, int seed)
    {
        nuint bytes = (nuint)(rows * (cols / 32) * 34);
        nuint size = (bytes + (2u << 20) - 1) / (2u << 20) * (2u << 20);
        byte* data = (byte*)NativeMemory.AlignedAlloc(size, 2u << 20);
        if (thp) Madvise((nint)data, size, 14);
        var rng = new Random(seed);
        for (nuint i = 0; i < bytes; i += 34)
        {
            *(ushort*)(data + i) = (ushort)BitConverter.HalfToInt16Bits((Half)(0.001f + rng.NextSingle() * 0.01f));
            rng.NextBytes(new Span<byte>(data + i + 2, 32));
        }
        return new WeightMatrix((nint)data, DType.Q8_0, rows, cols);
    }
}

/// <summary>Decode attention alone: one query row over a 576-token context, llama-3.2-1b (32/8 heads) and qwen2.5-0.5b (14/2) shapes.</summary>
internal static class AttentionBench
{
    public static void Run()
    {
        foreach ((string name, int heads, int kvHeads, int layers) in new[] { ("llama-3.2-1b", 32, 8, 16), ("qwen2.5-0.5b", 14, 2, 24) })
        {
            const int headDim = 64, blockSize = 16, context = 576;
            int blocks = context / blockSize;
            var rng = new Random(1);
            float[][] k = new float[layers][], v = new float[layers][];
            for (int l = 0; l < layers; l++)
            {
                k[l] = new float[blocks * kvHeads * blockSize * headDim];
                v[l] = new float[k[l].Length];
                for (int i = 0; i < k[l].Length; i++) { k[l][i] = rng.NextSingle() - 0.5f; v[l][i] = rng.NextSingle() - 0.5f; }
            }
            float[] q = new float[heads * headDim], o = new float[heads * headDim];
            for (int i = 0; i < q.Length; i++) q[i] = rng.NextSingle() - 0.5f;
            int[] start = { 0, 1 }, lens = { context }, table = Enumerable.Range(0, blocks).ToArray();
            double Step()
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int l = 0; l < layers; l++)
                {
                    var meta = new AttentionMetadata(start, lens, table, blocks, blockSize);
                    PagedAttention.Forward(q, k[l], v[l], o, in meta, heads, kvHeads, headDim, 0.125f);
                }
                return Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }
            long w0 = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(w0).TotalSeconds < 0.6) Step();
            var t = new double[101];
            for (int i = 0; i < t.Length; i++) t[i] = Step();
            Array.Sort(t);
            double pairs = (double)layers * heads * context;
            Console.WriteLine($"attention {name} decode, {context} keys, {layers} layers: {t[50] * 1e3:F3} ms per step (median), {t[50] / pairs * 1e9:F1} ns per (head, key); KV {2.0 * layers * kvHeads * context * headDim * 4 / 1e6:F1} MB");
        }
    }
}
