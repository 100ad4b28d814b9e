using System.Diagnostics;
using System.Runtime.InteropServices;
using VllmSharp.Kernels;
using VllmSharp.Kernels.Quant;

/// <summary>
/// The linear layers of one Qwen2.5-0.5B forward pass (24 × [q/k/v 896→896/128/128 fused, o 896→896, gate/up
/// 896→4864 fused, down 4864→896] + lm_head 896→151936), timed as decode (m = 1, all weights streamed from DRAM) and
/// prefill (m = 512; lm_head on the last token only, as llama.cpp's pp512 does). Isolates matmul time: the model
/// adds attention, norms and rope (~10 %).
/// </summary>
internal static unsafe class QwenShapeBench
{
    private const int Hidden = 896, Kv = 128, Inter = 4864, Vocab = 151936, Layers = 24;

    /// <summary>Per-tensor types of one quantization mix.</summary>
    private readonly record struct Mix(string Name, DType Attn, DType Ffn, DType Down, DType DownAlt, DType Head);

    public static void Run(double bandwidthGBs, double fmaPeakGflops, string filter)
    {
        // llama.cpp's q4_K_M cannot use Q4_K on 896-wide rows (not a multiple of 256) and falls back to Q5_0 there;
        // ffn_down is Q4_K with "more bits" (Q6_K) in some layers (every third here); the output layer (Q6_K in
        // q4_K_M) falls back to Q8_0 for the same reason. q4_0 is the all-Q4_0 variant for comparison.
        Mix[] mixes =
        [
            new("q8_0", DType.Q8_0, DType.Q8_0, DType.Q8_0, DType.Q8_0, DType.Q8_0),
            new("q4_K_M-like", DType.Q5_0, DType.Q5_0, DType.Q4_K, DType.Q6_K, DType.Q8_0),
            new("q4_0", DType.Q4_0, DType.Q4_0, DType.Q4_0, DType.Q4_0, DType.Q4_0),
            new("bf16", DType.BF16, DType.BF16, DType.BF16, DType.BF16, DType.BF16),
        ];
        foreach (Mix mix in mixes)
        {
            if (filter.Length > 0 && !mix.Name.StartsWith(filter, StringComparison.Ordinal)) continue;
            RunMix(mix, bandwidthGBs, fmaPeakGflops);
        }
    }

    /// <summary>
    /// Kernel throughput with the weight hot in L3 (896 × 4864, ≤ 5 MB): best of many calls, so it shows the
    /// instructions-per-byte cost of each decode kernel (new vs previous) rather than DRAM or machine load.
    /// </summary>
    public static void HotGemv()
    {
        foreach (DType type in new[] { DType.Q8_0, DType.Q4_0, DType.Q5_0, DType.Q4_K, DType.Q6_K })
            foreach ((int n, int k) in new[] { (4864, 896), (896, 4864) })
            {
                if (k % type.BlockSize() != 0) continue;
                WeightMatrix w = Fill(type, n, k, 5);
                float[] x = Random(k, 6), y = new float[n];
                try
                {
                    double Best(bool legacy)
                    {
                        QuantMatMul.LegacyVnni = legacy;
                        double best = double.MaxValue;
                        for (int i = 0; i < 400; i++)
                        {
                            long t0 = Stopwatch.GetTimestamp();
                            MatMul.Forward(x, 1, w, y);
                            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                        }
                        QuantMatMul.LegacyVnni = false;
                        return best;
                    }
                    double fresh = Best(false), old = Best(true);
                    Console.WriteLine($"hot GEMV {type,-4} n={n,-5} k={k,-5}: {w.SizeInBytes / fresh / 1e9,6:F1} GB/s ({fresh * 1e6:F0} us; previous kernel {w.SizeInBytes / old / 1e9:F1} GB/s)");
                }
                finally { NativeMemory.AlignedFree((void*)w.Data); }
            }
    }

    /// <summary>Row-by-row int8 path (GEMV) vs dequantize-to-f32 GEMM for small batches, weights hot in L3.</summary>
    public static void Crossover()
    {
        foreach (DType type in new[] { DType.Q8_0, DType.Q4_K })
            foreach ((int n, int k) in new[] { (4864, 896), (896, 4864) })
            {
                if (k % type.BlockSize() != 0) continue;
                WeightMatrix w = Fill(type, n, k, 5);
                try
                {
                    foreach (int m in new[] { 1, 2, 4, 8, 16, 32, 64 })
                    {
                        float[] x = Random(m * k, 6), y = new float[m * n];
                        double Best(int path)
                        {
                            MatMul.ForcedPath = path;
                            double best = double.MaxValue;
                            for (int i = 0; i < 60; i++)
                            {
                                long t0 = Stopwatch.GetTimestamp();
                                MatMul.Forward(x, m, w, y);
                                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                            }
                            MatMul.ForcedPath = 0;
                            return best;
                        }
                        Console.WriteLine($"{type,-4} {n}x{k} m={m,-3}: int8 rows {Best(1) * 1e6,7:F0} us  f32 GEMM {Best(2) * 1e6,7:F0} us");
                    }
                }
                finally { NativeMemory.AlignedFree((void*)w.Data); }
            }
    }

    private static void RunMix(Mix mix, double bandwidthGBs, double fmaPeakGflops)
    {
        var allocations = new List<nint>();
        WeightMatrix Make(DType type, int rows, int cols)
        {
            WeightMatrix w = Fill(type, rows, cols, allocations.Count + 1);
            allocations.Add(w.Data);
            return w;
        }

        var layers = new WeightMatrix[Layers][];
        for (int l = 0; l < Layers; l++)
        {
            layers[l] =
            [
                Make(mix.Attn, Hidden, Hidden), Make(mix.Attn, Kv, Hidden), Make(mix.Attn, Kv, Hidden),
                Make(mix.Attn, Hidden, Hidden),
                Make(mix.Ffn, Inter, Hidden), Make(mix.Ffn, Inter, Hidden),
                Make(l % 3 == 0 ? mix.DownAlt : mix.Down, Hidden, Inter),
            ];
        }
        WeightMatrix head = Make(mix.Head, Vocab, Hidden);
        long layerBytes = 0, layerParams = 0;
        foreach (WeightMatrix[] l in layers)
            foreach (WeightMatrix w in l) { layerBytes += w.SizeInBytes; layerParams += (long)w.Rows * w.Cols; }
        long decodeBytes = layerBytes + head.SizeInBytes;

        try
        {
            const int prefillM = 512;
            float[] x = Random(prefillM * Inter, 3), qkv = new float[prefillM * (Hidden + 2 * Kv)];
            float[] o = new float[prefillM * Hidden], gateUp = new float[prefillM * 2 * Inter], logits = new float[Vocab];

            double Pass(int m, bool withHead)
            {
                long t0 = Stopwatch.GetTimestamp();
                ReadOnlySpan<float> xh = x.AsSpan(0, m * Hidden), xi = x.AsSpan(0, m * Inter);
                foreach (WeightMatrix[] l in layers)
                {
                    MatMul.Forward(xh, m, l.AsSpan(0, 3), qkv.AsSpan(0, m * (Hidden + 2 * Kv)));
                    MatMul.Forward(xh, m, l[3], o.AsSpan(0, m * Hidden));
                    MatMul.Forward(xh, m, l.AsSpan(4, 2), gateUp.AsSpan(0, m * 2 * Inter));
                    MatMul.Forward(xi, m, l[6], o.AsSpan(0, m * Hidden));
                }
                if (withHead) MatMul.Forward(x.AsSpan(0, Hidden), 1, head, logits);
                return Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }

            // Each figure is reported next to the previous kernels (int8 row-by-row for prefill, per-block VNNI for
            // decode) measured interleaved in the same run, so machine load drifts hit both equally.
            void Old(bool on)
            {
                QuantMatMul.LegacyVnni = on;
                // Float weights had no previous quantized path: for them "previous" is the same code.
                MatMul.ForcedPath = on && mix.Attn.IsQuantized() ? 1 : 0;
            }

            (double New, double Old, double NewBest) Interleaved(int m, int reps)
            {
                Old(true); Pass(m, true);
                Old(false); Pass(m, true); // JIT + fault in
                var fresh = new double[reps];
                var old = new double[reps];
                for (int i = 0; i < reps; i++)
                {
                    Old(true); old[i] = Pass(m, true);
                    Old(false); fresh[i] = Pass(m, true);
                }
                Array.Sort(fresh);
                Array.Sort(old);
                return (fresh[reps / 2], old[reps / 2], fresh[0]);
            }

            (double dMed, double dOld, double dBest) = Interleaved(1, 15);
            double gbs = decodeBytes / dMed / 1e9;
            Console.WriteLine($"{mix.Name,-12} decode  m=1  : {1 / dMed,6:F1} tok/s median ({1 / dBest:F1} best; previous kernels {1 / dOld:F1})  {decodeBytes / 1e6:F0} MB/token  {gbs,5:F1} GB/s = {gbs / bandwidthGBs:P0} of read bandwidth ({bandwidthGBs:F1} GB/s)");

            if (mix.Head == DType.Q8_0 && mix.Attn == DType.Q8_0)
            {
                // Batched decode (16 sequences, lm_head on all 16) and prefill with the Q8_0 batch kernel on and off.
                float[] logits16 = new float[16 * Vocab];
                double Step(int m, bool q8Gemm)
                {
                    Q8Gemm.Enabled = q8Gemm;
                    double t = Pass(m, false);
                    long t0 = Stopwatch.GetTimestamp();
                    if (m == 16) MatMul.Forward(x.AsSpan(0, 16 * Hidden), 16, head, logits16);
                    Q8Gemm.Enabled = true;
                    return t + Stopwatch.GetElapsedTime(t0).TotalSeconds;
                }
                foreach ((int m, int reps) in new[] { (16, 9), (prefillM, 3) })
                {
                    Step(m, false); Step(m, true);
                    var on = new double[reps];
                    var off = new double[reps];
                    for (int i = 0; i < reps; i++) { off[i] = Step(m, false); on[i] = Step(m, true); }
                    Array.Sort(on);
                    Array.Sort(off);
                    Console.WriteLine($"{mix.Name,-12} m={m,-3} {(m == 16 ? "decode step (lm_head on 16 rows)" : "prefill (no lm_head)")}: {on[reps / 2] * 1e3,7:F1} ms median with Q8Gemm, {off[reps / 2] * 1e3,7:F1} ms without (x{off[reps / 2] / on[reps / 2]:F2})");
                }
            }

            (double pMed, double pOld, double pBest) = Interleaved(prefillM, 3);
            double gflops = 2.0 * (layerParams * prefillM + (long)Vocab * Hidden) / pMed / 1e9;
            Console.WriteLine($"{mix.Name,-12} prefill m={prefillM}: {prefillM / pMed,6:F1} tok/s median ({prefillM / pBest:F1} best; previous kernels {prefillM / pOld:F1})  {gflops,6:F1} GFLOP/s = {gflops / fmaPeakGflops:P0} of f32 FMA peak ({fmaPeakGflops:F0} GFLOP/s)");
        }
        finally
        {
            foreach (nint p in allocations) NativeMemory.AlignedFree((void*)p);
        }
    }

    /// <summary>
    /// A weight with realistic contents: a few distinct quantized random rows tiled over the matrix (quantizing
    /// 500 M values would take longer than the benchmark; contents do not change the kernels' speed).
    /// </summary>
    internal static WeightMatrix Fill(DType type, int rows, int cols, int seed)
    {
        long rowBytes = type.RowBytes(cols);
        byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)(rowBytes * rows), 64);
        const int distinct = 8;
        var rng = new Random(seed);
        for (int r = 0; r < Math.Min(distinct, rows); r++)
        {
            float[] values = new float[cols];
            for (int c = 0; c < cols; c++) values[c] = (float)(rng.NextDouble() * 0.2 - 0.1);
            var dst = new Span<byte>(data + r * rowBytes, (int)rowBytes);
            if (type.IsQuantized()) Quantizer.Quantize(values, ToQuant(type), dst);
            else DTypeConvert.FromSingle(values, type, (nint)(data + r * rowBytes));
        }
        for (int r = distinct; r < rows; r++)
            Buffer.MemoryCopy(data + (r % distinct) * rowBytes, data + r * rowBytes, rowBytes, rowBytes);
        return new WeightMatrix((nint)data, type, rows, cols);
    }

    private static QuantType ToQuant(DType type) => type switch
    {
        DType.Q8_0 => QuantType.Q8_0,
        DType.Q4_0 => QuantType.Q4_0,
        DType.Q4_K => QuantType.Q4_K,
        DType.Q5_0 => QuantType.Q5_0,
        _ => QuantType.Q6_K,
    };

    private static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }
}
