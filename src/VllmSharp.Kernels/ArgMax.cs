using System.Numerics;
using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels;

/// <summary>Greedy sampling's arg max.</summary>
public static unsafe class ArgMax
{
    /// <summary>
    /// Index of the largest value, the lowest such index on ties; NaN entries are ignored.
    /// A row of only NaN returns 0 so greedy sampling still yields a valid token id.
    /// </summary>
    public static int Find(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) throw new ArgumentException("x must not be empty.", nameof(x));
        fixed (float* p = x)
        {
            float max = MaxIgnoringNaN(p, x.Length);
            // Second pass finds the first occurrence; cheaper than tracking indices in every lane.
            int index = FirstIndexOf(p, x.Length, max);
            return index < 0 ? 0 : index; // only NaN
        }
    }

    private static int FirstIndexOf(float* x, int n, float value)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> target = Vector512.Create(value);
            for (; i <= n - 16; i += 16)
            {
                ulong mask = Vector512.Equals(Vector512.Load(x + i), target).ExtractMostSignificantBits();
                if (mask != 0) return i + BitOperations.TrailingZeroCount(mask);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> target = Vector256.Create(value);
            for (; i <= n - 8; i += 8)
            {
                uint mask = Vector256.Equals(Vector256.Load(x + i), target).ExtractMostSignificantBits();
                if (mask != 0) return i + BitOperations.TrailingZeroCount(mask);
            }
        }
        for (; i < n; i++)
            if (x[i] == value) return i;
        return -1;
    }

    // A NaN lane never compares greater, so it never replaces the running maximum.
    private static float MaxIgnoringNaN(float* x, int n)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> m = Vector512.Create(float.NegativeInfinity);
            for (; i <= n - 16; i += 16)
            {
                Vector512<float> v = Vector512.Load(x + i);
                m = Vector512.ConditionalSelect(Vector512.GreaterThan(v, m), v, m);
            }
            for (int k = 0; k < 16; k++) if (m[k] > max) max = m[k];
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> m = Vector256.Create(float.NegativeInfinity);
            for (; i <= n - 8; i += 8)
            {
                Vector256<float> v = Vector256.Load(x + i);
                m = Vector256.ConditionalSelect(Vector256.GreaterThan(v, m), v, m);
            }
            for (int k = 0; k < 8; k++) if (m[k] > max) max = m[k];
        }
        for (; i < n; i++) if (x[i] > max) max = x[i];
        return max;
    }
}
