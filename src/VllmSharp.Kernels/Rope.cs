using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels;

/// <summary>Rotary position embedding: frequency tables, per-position cos/sin, and the in-place rotation of q/k heads.</summary>
public static unsafe class Rope
{
    // Below this many rotated elements a parallel dispatch costs more than it saves (measured: 64 tokens × 14 heads × 64
    // rotate in ~4.7 µs serially and gain almost nothing on two cores).
    private const int ParallelThreshold = 128 * 1024;

    /// <summary>
    /// inv_freq[i] = theta^(−2i/rotaryDim) for i &lt; rotaryDim/2, with HF's "llama3" rope_scaling applied when given.
    /// Computed in double and rounded once, so it is as close to the exact value as f32 allows.
    /// </summary>
    public static float[] InverseFrequencies(int rotaryDim, double theta, Llama3RopeScaling? scaling = null)
    {
        if (rotaryDim <= 0 || rotaryDim % 2 != 0)
            throw new ArgumentException($"rotaryDim must be a positive even number, got {rotaryDim}.", nameof(rotaryDim));
        if (!(theta > 0)) throw new ArgumentException($"theta must be positive, got {theta}.", nameof(theta));
        var result = new float[rotaryDim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double invFreq = 1.0 / Math.Pow(theta, 2.0 * i / rotaryDim);
            if (scaling is { } s) invFreq = ScaleLlama3(invFreq, s);
            result[i] = (float)invFreq;
        }
        return result;
    }

    // HF transformers _compute_llama3_parameters: wavelengths shorter than original/high_freq_factor are kept,
    // longer than original/low_freq_factor are divided by factor, and in between
    // smooth = (original/wavelen − low)/(high − low) blends (1 − smooth)·f/factor + smooth·f.
    private static double ScaleLlama3(double invFreq, Llama3RopeScaling s)
    {
        double original = s.OriginalMaxPositionEmbeddings;
        double lowFreqWavelen = original / s.LowFreqFactor;
        double highFreqWavelen = original / s.HighFreqFactor;
        double wavelen = 2.0 * Math.PI / invFreq;
        if (wavelen < highFreqWavelen) return invFreq;
        if (wavelen > lowFreqWavelen) return invFreq / s.Factor;
        double smooth = (original / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        return (1.0 - smooth) * invFreq / s.Factor + smooth * invFreq;
    }

    /// <summary>
    /// cos[t, i] = cos(positions[t] · invFreq[i]) and the same for sin; both are [positions.Length × invFreq.Length].
    /// The angle is formed and reduced in double: at position 128k an f32 angle would be off by ~0.01 rad.
    /// </summary>
    public static void ComputeCosSin(ReadOnlySpan<int> positions, ReadOnlySpan<float> invFreq, Span<float> cos, Span<float> sin)
    {
        int expected = positions.Length * invFreq.Length;
        if (cos.Length != expected)
            throw new ArgumentException($"cos has {cos.Length} elements, expected positions × invFreq = {expected}.", nameof(cos));
        if (sin.Length != expected)
            throw new ArgumentException($"sin has {sin.Length} elements, expected positions × invFreq = {expected}.", nameof(sin));
        if (expected == 0) return;
        fixed (int* pp = positions)
        fixed (float* pf = invFreq, pc = cos, ps = sin)
        {
            var job = new CosSinJob { Positions = pp, InvFreq = pf, Cos = pc, Sin = ps, NumTokens = positions.Length, Half = invFreq.Length };
            // A double sin/cos costs ~20 ns: a 512-token prefill's table is worth splitting, a decode step's is not.
            if (expected >= CosSinParallelThreshold && positions.Length > 1 && WorkerPool.Shared.ThreadCount > 1)
            {
                int chunks = Math.Min(positions.Length, WorkerPool.Shared.ThreadCount * 4);
                job.TokensPerChunk = (positions.Length + chunks - 1) / chunks;
                WorkerPool.Shared.For((positions.Length + job.TokensPerChunk - 1) / job.TokensPerChunk, ref job);
            }
            else
            {
                job.TokensPerChunk = positions.Length;
                job.Execute(0);
            }
        }
    }

    private const int CosSinParallelThreshold = 4096;

    private struct CosSinJob : IParallelJob
    {
        public int* Positions;
        public float* InvFreq, Cos, Sin;
        public int NumTokens, Half, TokensPerChunk;

        public readonly void Execute(int index)
        {
            int start = index * TokensPerChunk, end = Math.Min(NumTokens, start + TokensPerChunk);
            for (int t = start; t < end; t++)
            {
                double position = Positions[t];
                float* cosRow = Cos + (long)t * Half, sinRow = Sin + (long)t * Half;
                for (int i = 0; i < Half; i++)
                {
                    (double s, double c) = Math.SinCos(position * InvFreq[i]);
                    cosRow[i] = (float)c;
                    sinRow[i] = (float)s;
                }
            }
        }
    }

    /// <summary>
    /// Rotates in place the first rotaryDim = 2·(cos.Length / numTokens) dims of every head of x
    /// ([numTokens × numHeads × headDim]); token t uses row t of cos/sin.
    /// </summary>
    public static void Apply(Span<float> x, int numHeads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, RopeStyle style)
    {
        if (numHeads <= 0) throw new ArgumentException($"numHeads must be positive, got {numHeads}.", nameof(numHeads));
        if (headDim <= 0) throw new ArgumentException($"headDim must be positive, got {headDim}.", nameof(headDim));
        int tokenStride = numHeads * headDim;
        if (x.Length % tokenStride != 0)
            throw new ArgumentException($"x has {x.Length} elements, not a multiple of numHeads × headDim = {tokenStride}.", nameof(x));
        if (sin.Length != cos.Length)
            throw new ArgumentException($"sin has {sin.Length} elements but cos has {cos.Length}.", nameof(sin));
        int numTokens = x.Length / tokenStride;
        if (numTokens == 0) return;
        if (cos.Length % numTokens != 0)
            throw new ArgumentException($"cos has {cos.Length} elements, not a multiple of the {numTokens} tokens in x.", nameof(cos));
        int half = cos.Length / numTokens;
        if (half == 0 || 2 * half > headDim)
            throw new ArgumentException($"rotaryDim {2 * half} (from cos) must be in [2, headDim = {headDim}].", nameof(cos));

        fixed (float* px = x, pc = cos, ps = sin)
        {
            var job = new Job
            {
                X = px, Cos = pc, Sin = ps, NumTokens = numTokens, NumHeads = numHeads, HeadDim = headDim,
                Half = half, Interleaved = style == RopeStyle.Interleaved,
            };
            if (numTokens > 1 && (long)numTokens * numHeads * half * 2 >= ParallelThreshold && WorkerPool.Shared.ThreadCount > 1)
            {
                int chunks = Math.Min(numTokens, WorkerPool.Shared.ThreadCount * 4);
                job.TokensPerChunk = (numTokens + chunks - 1) / chunks;
                WorkerPool.Shared.For((numTokens + job.TokensPerChunk - 1) / job.TokensPerChunk, ref job);
            }
            else
            {
                job.TokensPerChunk = numTokens;
                job.Execute(0);
            }
        }
    }

    private struct Job : IParallelJob
    {
        public float* X, Cos, Sin;
        public int NumTokens, NumHeads, HeadDim, Half, TokensPerChunk;
        public bool Interleaved;

        public readonly void Execute(int index)
        {
            int start = index * TokensPerChunk, end = Math.Min(NumTokens, start + TokensPerChunk);
            for (int t = start; t < end; t++)
            {
                float* c = Cos + (long)t * Half, s = Sin + (long)t * Half;
                float* token = X + (long)t * NumHeads * HeadDim;
                for (int h = 0; h < NumHeads; h++)
                {
                    if (Interleaved) RotateInterleaved(token + h * HeadDim, c, s, Half);
                    else RotateNeox(token + h * HeadDim, c, s, Half);
                }
            }
        }
    }

    // (a, b) = (x[i], x[i + half]) → (a·cos − b·sin, b·cos + a·sin); both halves are contiguous, so it vectorises directly.
    private static void RotateNeox(float* x, float* cos, float* sin, int half)
    {
        float* x2 = x + half;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= half - 16; i += 16)
            {
                Vector512<float> a = Vector512.Load(x + i), b = Vector512.Load(x2 + i);
                Vector512<float> c = Vector512.Load(cos + i), s = Vector512.Load(sin + i);
                (a * c - b * s).Store(x + i);
                (b * c + a * s).Store(x2 + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= half - 8; i += 8)
            {
                Vector256<float> a = Vector256.Load(x + i), b = Vector256.Load(x2 + i);
                Vector256<float> c = Vector256.Load(cos + i), s = Vector256.Load(sin + i);
                (a * c - b * s).Store(x + i);
                (b * c + a * s).Store(x2 + i);
            }
        }
        for (; i < half; i++)
        {
            float a = x[i], b = x2[i];
            x[i] = a * cos[i] - b * sin[i];
            x2[i] = b * cos[i] + a * sin[i];
        }
    }

    // Pairs are adjacent here; the scalar loop is cheap next to the projections that produce q/k.
    private static void RotateInterleaved(float* x, float* cos, float* sin, int half)
    {
        for (int i = 0; i < half; i++)
        {
            float a = x[2 * i], b = x[2 * i + 1];
            x[2 * i] = a * cos[i] - b * sin[i];
            x[2 * i + 1] = b * cos[i] + a * sin[i];
        }
    }
}
