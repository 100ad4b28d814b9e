using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// Whole-row passes over one vocabulary row for the sampler. Rows are walked in blocks of 16 floats with
/// <see cref="Vector512{T}"/> (native on AVX-512, emulated elsewhere), and the tail element by element.
/// </summary>
/// <remarks>
/// <see cref="ExpScaled"/> and <see cref="InverseCdf"/> add the same block sums in the same order, so the total
/// a target is drawn against is exactly the total the walk reaches: the walk can never run off the row's end
/// because of rounding.
/// </remarks>
internal static class SamplingSimd
{
    private const int Block = 16;
    // Vector partial sums are moved into a double every this many blocks so 150k-term sums stay accurate.
    private const int FlushBlocks = 64;

    public static float Max(ReadOnlySpan<float> x)
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        float max = float.NegativeInfinity;
        if (n >= Block)
        {
            Vector512<float> m = Vector512.Create(float.NegativeInfinity);
            for (; i <= n - Block; i += Block) m = Vector512.Max(m, Vector512.LoadUnsafe(ref p, (nuint)i));
            for (int k = 0; k < Block; k++) max = MathF.Max(max, m[k]);
        }
        for (; i < n; i++) max = MathF.Max(max, x[i]);
        return max;
    }

    /// <summary>Σ exp(x[i] − max), accumulated in double.</summary>
    public static double SumExp(ReadOnlySpan<float> x, float max)
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0, blocks = 0;
        double total = 0;
        Vector512<float> m = Vector512.Create(max), acc = Vector512<float>.Zero;
        for (; i <= n - Block; i += Block)
        {
            acc += Vector512.Exp(Vector512.LoadUnsafe(ref p, (nuint)i) - m);
            if (++blocks == FlushBlocks)
            {
                total += Vector512.Sum(acc);
                acc = Vector512<float>.Zero;
                blocks = 0;
            }
        }
        total += Vector512.Sum(acc);
        for (; i < n; i++) total += MathF.Exp(x[i] - max);
        return total;
    }

    /// <summary>
    /// q[i] = exp((logits[i] − max) · invTemperature), set to 0 where below <paramref name="minP"/> (the row maximum
    /// has q = 1, so this is min_p's "p &lt; min_p · p_max"). Returns Σ q, summed per super-block of
    /// <see cref="FlushBlocks"/> vector blocks exactly as <see cref="InverseCdf"/> sums them.
    /// </summary>
    public static double ExpScaled(ReadOnlySpan<float> logits, Span<float> q, float max, float invTemperature, float minP)
    {
        ref float src = ref MemoryMarshal.GetReference(logits);
        ref float dst = ref MemoryMarshal.GetReference(q);
        int n = logits.Length, i = 0, blocks = 0;
        double total = 0;
        Vector512<float> m = Vector512.Create(max), s = Vector512.Create(invTemperature), floor = Vector512.Create(minP);
        Vector512<float> acc = Vector512<float>.Zero;
        for (; i <= n - Block; i += Block)
        {
            Vector512<float> e = Vector512.Exp((Vector512.LoadUnsafe(ref src, (nuint)i) - m) * s);
            e = Vector512.ConditionalSelect(Vector512.LessThan(e, floor), Vector512<float>.Zero, e);
            e.StoreUnsafe(ref dst, (nuint)i);
            acc += e;
            if (++blocks == FlushBlocks)
            {
                total += Vector512.Sum(acc);
                acc = Vector512<float>.Zero;
                blocks = 0;
            }
        }
        total += Vector512.Sum(acc);
        for (; i < n; i++)
        {
            float e = MathF.Exp((logits[i] - max) * invTemperature);
            if (e < minP) e = 0;
            q[i] = e;
            total += e;
        }
        return total;
    }

    /// <summary>
    /// Among entries with q ≥ <paramref name="threshold"/> (all of them for 0), the first whose running sum exceeds
    /// <paramref name="target"/>. Sums run per super-block exactly as in <see cref="ExpScaled"/> and
    /// <see cref="MassAtLeast"/>, so a target drawn below their total is always reached; a zero entry is never
    /// returned unless nothing counts at all.
    /// </summary>
    public static int InverseCdf(ReadOnlySpan<float> q, float threshold, double target)
    {
        ref float p = ref MemoryMarshal.GetReference(q);
        int n = q.Length, i = 0, lastSpan = -1;
        Vector512<float> t = Vector512.Create(threshold);
        double cum = 0;
        while (i <= n - Block)
        {
            int start = i;
            Vector512<float> acc = Vector512<float>.Zero;
            for (int b = 0; b < FlushBlocks && i <= n - Block; b++, i += Block)
            {
                Vector512<float> v = Vector512.LoadUnsafe(ref p, (nuint)i);
                acc += v & Vector512.GreaterThanOrEqual(v, t); // for threshold 0 this is v itself, bit for bit
            }
            float spanSum = Vector512.Sum(acc);
            if (spanSum > 0 && cum + spanSum > target)
            {
                // Element by element the sum may round differently from the vector sum: if it falls short, the
                // span's last counted entry is the answer (the draw landed in this span).
                int last = -1;
                for (int j = start; j < i; j++)
                {
                    if (!Counts(q[j], threshold)) continue;
                    cum += q[j];
                    last = j;
                    if (cum > target) return j;
                }
                return last;
            }
            cum += spanSum;
            if (spanSum > 0) lastSpan = start;
        }
        int lastCounted = lastSpan < 0 ? -1 : LastCountedIn(q, lastSpan, i, threshold);
        for (; i < n; i++)
        {
            if (!Counts(q[i], threshold)) continue;
            cum += q[i];
            lastCounted = i;
            if (cum > target) return i;
        }
        return lastCounted < 0 ? 0 : lastCounted;
    }

    /// <summary>
    /// For each of the (at most 8) thresholds, Σ q[i] over q[i] ≥ threshold, in one pass, summed as
    /// <see cref="InverseCdf"/> sums.
    /// </summary>
    public static void MassAtLeast(ReadOnlySpan<float> q, ReadOnlySpan<float> thresholds, Span<double> masses)
    {
        ref float p = ref MemoryMarshal.GetReference(q);
        int n = q.Length, i = 0, blocks = 0, levels = thresholds.Length;
        // Unused levels get +∞, which nothing reaches; eight accumulators and thresholds stay in registers.
        Vector512<float> t0 = Level(thresholds, 0), t1 = Level(thresholds, 1), t2 = Level(thresholds, 2), t3 = Level(thresholds, 3);
        Vector512<float> t4 = Level(thresholds, 4), t5 = Level(thresholds, 5), t6 = Level(thresholds, 6), t7 = Level(thresholds, 7);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Span<double> total = stackalloc double[8];
        total.Clear();
        for (; i <= n - Block; i += Block)
        {
            Vector512<float> v = Vector512.LoadUnsafe(ref p, (nuint)i);
            a0 += v & Vector512.GreaterThanOrEqual(v, t0);
            a1 += v & Vector512.GreaterThanOrEqual(v, t1);
            a2 += v & Vector512.GreaterThanOrEqual(v, t2);
            a3 += v & Vector512.GreaterThanOrEqual(v, t3);
            a4 += v & Vector512.GreaterThanOrEqual(v, t4);
            a5 += v & Vector512.GreaterThanOrEqual(v, t5);
            a6 += v & Vector512.GreaterThanOrEqual(v, t6);
            a7 += v & Vector512.GreaterThanOrEqual(v, t7);
            if (++blocks == FlushBlocks)
            {
                Flush(total, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
                blocks = 0;
            }
        }
        Flush(total, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
        for (int l = 0; l < levels; l++)
        {
            double sum = total[l];
            for (int j = i; j < n; j++)
                if (Counts(q[j], thresholds[l])) sum += q[j];
            masses[l] = sum;
        }
    }

    private static Vector512<float> Level(ReadOnlySpan<float> thresholds, int l) =>
        Vector512.Create(l < thresholds.Length ? thresholds[l] : float.PositiveInfinity);

    private static void Flush(Span<double> total, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2,
        ref Vector512<float> a3, ref Vector512<float> a4, ref Vector512<float> a5, ref Vector512<float> a6, ref Vector512<float> a7)
    {
        total[0] += Vector512.Sum(a0);
        total[1] += Vector512.Sum(a1);
        total[2] += Vector512.Sum(a2);
        total[3] += Vector512.Sum(a3);
        total[4] += Vector512.Sum(a4);
        total[5] += Vector512.Sum(a5);
        total[6] += Vector512.Sum(a6);
        total[7] += Vector512.Sum(a7);
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = Vector512<float>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Counts(float value, float threshold) => value > 0 && value >= threshold;

    /// <summary>First index holding exactly <paramref name="value"/>, or −1.</summary>
    public static int IndexOf(ReadOnlySpan<float> x, float value)
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        Vector512<float> target = Vector512.Create(value);
        for (; i <= n - Block; i += Block)
        {
            ulong mask = Vector512.Equals(Vector512.LoadUnsafe(ref p, (nuint)i), target).ExtractMostSignificantBits();
            if (mask != 0) return i + System.Numerics.BitOperations.TrailingZeroCount(mask);
        }
        for (; i < n; i++)
            if (x[i] == value) return i;
        return -1;
    }

    private static int LastCountedIn(ReadOnlySpan<float> q, int start, int end, float threshold)
    {
        for (int j = Math.Min(end, start + Block * FlushBlocks) - 1; j >= start; j--)
            if (Counts(q[j], threshold)) return j;
        return -1;
    }

    /// <summary>How many q[i] ≥ threshold, and their sum.</summary>
    public static (int Count, double Mass) CountAtLeast(ReadOnlySpan<float> q, float threshold)
    {
        ref float p = ref MemoryMarshal.GetReference(q);
        int n = q.Length, i = 0, blocks = 0;
        double mass = 0;
        Vector512<float> t = Vector512.Create(threshold), acc = Vector512<float>.Zero;
        Vector512<int> counts = Vector512<int>.Zero;
        for (; i <= n - Block; i += Block)
        {
            Vector512<float> v = Vector512.LoadUnsafe(ref p, (nuint)i);
            Vector512<float> keep = Vector512.GreaterThanOrEqual(v, t);
            counts -= keep.AsInt32(); // a true lane is all ones, i.e. −1
            acc += v & keep;
            if (++blocks == FlushBlocks)
            {
                mass += Vector512.Sum(acc);
                acc = Vector512<float>.Zero;
                blocks = 0;
            }
        }
        mass += Vector512.Sum(acc);
        int count = Vector512.Sum(counts);
        for (; i < n; i++)
        {
            if (q[i] >= threshold)
            {
                count++;
                mass += q[i];
            }
        }
        return (count, mass);
    }

    /// <summary>
    /// Writes a sort key for every q[i] ≥ threshold (> 0): ascending keys order by descending q, then ascending
    /// token id. Returns how many were written; <paramref name="keys"/> must hold the whole row.
    /// </summary>
    public static int Gather(ReadOnlySpan<float> q, float threshold, Span<ulong> keys) =>
        Gather(q, threshold, float.PositiveInfinity, keys);

    /// <summary>As <see cref="Gather(ReadOnlySpan{float}, float, Span{ulong})"/> for threshold ≤ q[i] &lt; below.</summary>
    public static int Gather(ReadOnlySpan<float> q, float threshold, float below, Span<ulong> keys)
    {
        ref float p = ref MemoryMarshal.GetReference(q);
        int n = q.Length, i = 0, c = 0;
        Vector512<float> t = Vector512.Create(threshold), u = Vector512.Create(below);
        for (; i <= n - Block; i += Block)
        {
            Vector512<float> v = Vector512.LoadUnsafe(ref p, (nuint)i);
            ulong mask = (Vector512.GreaterThanOrEqual(v, t) & Vector512.LessThan(v, u)).ExtractMostSignificantBits();
            while (mask != 0)
            {
                int j = i + System.Numerics.BitOperations.TrailingZeroCount(mask);
                keys[c++] = Key(q[j], j);
                mask &= mask - 1;
            }
        }
        for (; i < n; i++)
            if (q[i] >= threshold && q[i] < below) keys[c++] = Key(q[i], i);
        return c;
    }

    // Positive floats order like their bit patterns, so the complemented bits sort descending by value.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Key(float value, int index) =>
        ((ulong)~BitConverter.SingleToUInt32Bits(value) << 32) | (uint)index;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float KeyValue(ulong key) => BitConverter.UInt32BitsToSingle(~(uint)(key >> 32));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int KeyIndex(ulong key) => (int)(uint)key;
}
