using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels;

/// <summary>
/// The two inner loops of <see cref="PagedAttention"/> over one run of contiguous cache rows (part of a block):
/// q·k for several keys at once and the probability-weighted sum of value rows. Before, every key went through a
/// generic helper (a dot product with its own reduction; a load and store of the accumulator per value row), which
/// cost more than reading the f32 cache at a 512-token context. The value sum is bitwise the helper's (one FMA per
/// (key, lane) in key order); scores on AVX-512 come from a four-key reduction (<see cref="Scores512"/>), elsewhere
/// bitwise from <see cref="ElementwiseSimd.Dot"/>'s two alternating accumulators per key. Either way a key's score
/// depends only on q and that key, never on its neighbours in the run.
/// </summary>
internal static unsafe class AttentionKernels
{
    /// <summary>scores[j] = (q · keys[j]) · scale for j in [0, count); keys are rows of headDim floats.</summary>
    public static void Scores(float* q, float* keys, int count, int headDim, float scale, float* scores)
    {
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0) Scores512(q, keys, count, headDim, scale, scores);
        else if (Vector256.IsHardwareAccelerated && !Vector512.IsHardwareAccelerated && headDim % 16 == 0) Scores<MatMul.Ops256, Vector256<float>>(q, keys, count, headDim, scale, scores);
        else
            for (int j = 0; j < count; j++) scores[j] = ElementwiseSimd.Dot(q, keys + (long)j * headDim, headDim) * scale;
    }

    /// <summary>acc[0..headDim) += Σ_j p[j] · values[j] for j in [0, count), in key order.</summary>
    public static void WeightedSum(float* values, float* p, int count, int headDim, float* acc)
    {
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0) WeightedSum<MatMul.Ops512, Vector512<float>>(values, p, count, headDim, acc);
        else if (Vector256.IsHardwareAccelerated && !Vector512.IsHardwareAccelerated && headDim % 8 == 0) WeightedSum<MatMul.Ops256, Vector256<float>>(values, p, count, headDim, acc);
        else
            for (int j = 0; j < count; j++) ElementwiseSimd.MultiplyAdd(acc, values + (long)j * headDim, p[j], headDim);
    }

    /// <summary>
    /// Four keys per pass, one accumulator each, and one reduction for the four (two unpack rounds, then the 128-bit
    /// lanes): ~14 instructions where four horizontal sums took ~36. A key's score goes through the same operations
    /// whichever of the four slots it is in and whatever the other keys are (a missing key is a zero accumulator), so
    /// it depends only on q and that key.
    /// </summary>
    private static void Scores512(float* q, float* keys, int count, int headDim, float scale, float* scores)
    {
        Vector128<float> factor = Vector128.Create(scale);
        for (int j = 0; j < count; j += 4)
        {
            int live = Math.Min(4, count - j);
            float* k0 = keys + (long)j * headDim, k1 = k0 + headDim, k2 = k1 + headDim, k3 = k2 + headDim;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            if (live == 4)
            {
                for (int d = 0; d < headDim; d += 16)
                {
                    Vector512<float> qd = Vector512.Load(q + d);
                    a0 = Avx512F.FusedMultiplyAdd(qd, Vector512.Load(k0 + d), a0);
                    a1 = Avx512F.FusedMultiplyAdd(qd, Vector512.Load(k1 + d), a1);
                    a2 = Avx512F.FusedMultiplyAdd(qd, Vector512.Load(k2 + d), a2);
                    a3 = Avx512F.FusedMultiplyAdd(qd, Vector512.Load(k3 + d), a3);
                }
                (Reduce4(a0, a1, a2, a3) * factor).Store(scores + j);
                continue;
            }
            for (int d = 0; d < headDim; d += 16)
            {
                Vector512<float> qd = Vector512.Load(q + d);
                a0 = Avx512F.FusedMultiplyAdd(qd, Vector512.Load(k0 + d), a0);
                if (live > 1) a1 = Avx512F.FusedMultiplyAdd(qd, Vector512.Load(k1 + d), a1);
                if (live > 2) a2 = Avx512F.FusedMultiplyAdd(qd, Vector512.Load(k2 + d), a2);
            }
            Vector128<float> sums = Reduce4(a0, a1, a2, a3) * factor;
            for (int t = 0; t < live; t++) scores[j + t] = sums.GetElement(t);
        }
    }

    /// <summary>(Σ a0, Σ a1, Σ a2, Σ a3), each lane summed in the same order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        // Per 128-bit lane: [a0₀+a0₂, a1₀+a1₂, a0₁+a0₃, a1₁+a1₃], the same for a2/a3, then [Σa0, Σa1, Σa2, Σa3] of the lane.
        Vector512<float> t01 = Avx512F.UnpackLow(a0, a1) + Avx512F.UnpackHigh(a0, a1);
        Vector512<float> t23 = Avx512F.UnpackLow(a2, a3) + Avx512F.UnpackHigh(a2, a3);
        Vector512<float> w = Avx512F.Shuffle(t01, t23, 0b01_00_01_00) + Avx512F.Shuffle(t01, t23, 0b11_10_11_10);
        Vector256<float> x = w.GetLower() + w.GetUpper();
        return x.GetLower() + x.GetUpper();
    }

    /// <summary>Four keys per pass (eight accumulators, even and odd vectors of the row as Dot sums them).</summary>
    private static void Scores<TOps, TV>(float* q, float* keys, int count, int headDim, float scale, float* scores)
        where TOps : struct, MatMul.IVectorOps<TV> where TV : struct
    {
        int s = TOps.Count;
        int j = 0;
        for (; j + 4 <= count; j += 4)
        {
            float* k0 = keys + (long)j * headDim, k1 = k0 + headDim, k2 = k1 + headDim, k3 = k2 + headDim;
            TV a0 = TOps.Zero, b0 = TOps.Zero, a1 = TOps.Zero, b1 = TOps.Zero, a2 = TOps.Zero, b2 = TOps.Zero, a3 = TOps.Zero, b3 = TOps.Zero;
            for (int d = 0; d < headDim; d += 2 * s)
            {
                TV qa = TOps.Load(q + d), qb = TOps.Load(q + d + s);
                a0 = TOps.Fma(qa, TOps.Load(k0 + d), a0); b0 = TOps.Fma(qb, TOps.Load(k0 + d + s), b0);
                a1 = TOps.Fma(qa, TOps.Load(k1 + d), a1); b1 = TOps.Fma(qb, TOps.Load(k1 + d + s), b1);
                a2 = TOps.Fma(qa, TOps.Load(k2 + d), a2); b2 = TOps.Fma(qb, TOps.Load(k2 + d + s), b2);
                a3 = TOps.Fma(qa, TOps.Load(k3 + d), a3); b3 = TOps.Fma(qb, TOps.Load(k3 + d + s), b3);
            }
            scores[j] = TOps.Sum(TOps.Add(a0, b0)) * scale;
            scores[j + 1] = TOps.Sum(TOps.Add(a1, b1)) * scale;
            scores[j + 2] = TOps.Sum(TOps.Add(a2, b2)) * scale;
            scores[j + 3] = TOps.Sum(TOps.Add(a3, b3)) * scale;
        }
        for (; j < count; j++)
        {
            float* k = keys + (long)j * headDim;
            TV a = TOps.Zero, b = TOps.Zero;
            for (int d = 0; d < headDim; d += 2 * s)
            {
                a = TOps.Fma(TOps.Load(q + d), TOps.Load(k + d), a);
                b = TOps.Fma(TOps.Load(q + d + s), TOps.Load(k + d + s), b);
            }
            scores[j] = TOps.Sum(TOps.Add(a, b)) * scale;
        }
    }

    /// <summary>Four vectors of acc held in registers across all keys (independent FMA chains), then the rest one by one.</summary>
    private static void WeightedSum<TOps, TV>(float* values, float* p, int count, int headDim, float* acc)
        where TOps : struct, MatMul.IVectorOps<TV> where TV : struct
    {
        int s = TOps.Count;
        int d = 0;
        for (; d + 4 * s <= headDim; d += 4 * s)
        {
            TV s0 = TOps.Load(acc + d), s1 = TOps.Load(acc + d + s), s2 = TOps.Load(acc + d + 2 * s), s3 = TOps.Load(acc + d + 3 * s);
            float* v = values + d;
            for (int j = 0; j < count; j++, v += headDim)
            {
                TV w = TOps.Broadcast(p[j]);
                s0 = TOps.Fma(TOps.Load(v), w, s0);
                s1 = TOps.Fma(TOps.Load(v + s), w, s1);
                s2 = TOps.Fma(TOps.Load(v + 2 * s), w, s2);
                s3 = TOps.Fma(TOps.Load(v + 3 * s), w, s3);
            }
            TOps.Store(acc + d, s0); TOps.Store(acc + d + s, s1); TOps.Store(acc + d + 2 * s, s2); TOps.Store(acc + d + 3 * s, s3);
        }
        for (; d < headDim; d += s)
        {
            TV s0 = TOps.Load(acc + d);
            float* v = values + d;
            for (int j = 0; j < count; j++, v += headDim) s0 = TOps.Fma(TOps.Load(v), TOps.Broadcast(p[j]), s0);
            TOps.Store(acc + d, s0);
        }
    }
}
