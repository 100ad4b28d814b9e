using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels;

/// <summary>
/// Small SIMD building blocks shared by the element-wise and attention kernels. Each picks the widest
/// accelerated vector once per call (the IsHardwareAccelerated checks are JIT-time constants) and always
/// reduces in the same order for a given length, so a result depends only on its inputs, never on the batch.
/// </summary>
internal static unsafe class ElementwiseSimd
{
    /// <summary>Σ a[i]·b[i] in f32, two independent accumulators to hide FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
            for (; i <= n - 32; i += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), acc1);
            }
            if (i <= n - 16)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
                i += 16;
            }
            sum = Vector512.Sum(acc0 + acc1);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), acc1);
            }
            if (i <= n - 8)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
                i += 8;
            }
            sum += Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    /// <summary>Σ x[i]².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumOfSquares(float* x, int n) => Dot(x, x, n);

    /// <summary>The largest element (n ≥ 1); NaN-free input assumed.</summary>
    public static float Max(float* x, int n)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> m = Vector512.Create(float.NegativeInfinity);
            for (; i <= n - 16; i += 16) m = Vector512.Max(m, Vector512.Load(x + i));
            max = HorizontalMax(m.GetLower(), m.GetUpper());
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> m = Vector256.Create(float.NegativeInfinity);
            for (; i <= n - 8; i += 8) m = Vector256.Max(m, Vector256.Load(x + i));
            max = HorizontalMax(m, m);
        }
        for (; i < n; i++) max = MathF.Max(max, x[i]);
        return max;
    }

    private static float HorizontalMax(Vector256<float> a, Vector256<float> b)
    {
        Vector256<float> m = Vector256.Max(a, b);
        float r = m[0];
        for (int k = 1; k < 8; k++) r = MathF.Max(r, m[k]);
        return r;
    }

    /// <summary>x[i] = exp(x[i] − max) in place; returns Σ of the new values. exp(−∞) = 0.</summary>
    public static float ExpSubtractMax(float* x, int n, float max)
    {
        int i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> m = Vector512.Create(max), acc = Vector512<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                Vector512<float> e = Vector512.Exp(Vector512.Load(x + i) - m);
                e.Store(x + i);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> m = Vector256.Create(max), acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8)
            {
                Vector256<float> e = Vector256.Exp(Vector256.Load(x + i) - m);
                e.Store(x + i);
                acc += e;
            }
            sum += Vector256.Sum(acc);
        }
        // Without wide vectors every term lands here: a double sum keeps a 150k-entry vocabulary row accurate.
        double tail = 0;
        for (; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            tail += e;
        }
        return (float)(sum + tail);
    }

    /// <summary>acc[i] += a · v[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd(float* acc, float* v, float a, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a);
            for (; i <= n - 16; i += 16)
                Vector512.FusedMultiplyAdd(Vector512.Load(v + i), va, Vector512.Load(acc + i)).Store(acc + i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a);
            for (; i <= n - 8; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.Load(v + i), va, Vector256.Load(acc + i)).Store(acc + i);
        }
        for (; i < n; i++) acc[i] = MathF.FusedMultiplyAdd(v[i], a, acc[i]);
    }

    /// <summary>y[i] = x[i] · a · w[i] (the RMSNorm output step); x and y may alias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleMultiply(float* x, float a, float* w, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a);
            for (; i <= n - 16; i += 16) (Vector512.Load(x + i) * va * Vector512.Load(w + i)).Store(y + i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a);
            for (; i <= n - 8; i += 8) (Vector256.Load(x + i) * va * Vector256.Load(w + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = x[i] * a * w[i];
    }

    /// <summary>x[i] *= a.</summary>
    public static void Scale(float* x, float a, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a);
            for (; i <= n - 16; i += 16) (Vector512.Load(x + i) * va).Store(x + i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a);
            for (; i <= n - 8; i += 8) (Vector256.Load(x + i) * va).Store(x + i);
        }
        for (; i < n; i++) x[i] *= a;
    }

    /// <summary>dst[i] += src[i].</summary>
    public static void Add(float* dst, float* src, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16) (Vector512.Load(dst + i) + Vector512.Load(src + i)).Store(dst + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
        for (; i < n; i++) dst[i] += src[i];
    }
}
