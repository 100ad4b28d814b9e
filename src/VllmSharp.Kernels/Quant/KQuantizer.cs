namespace VllmSharp.Kernels.Quant;

/// <summary>
/// Q4_K and Q6_K super-blocks. Instead of llama.cpp's iterative error-minimising search, scales are chosen to
/// <em>cover</em> each sub-block's range after every rounding step (6-bit/8-bit sub-scales and f16 super-scales are
/// rounded up), so each element is off by at most half its sub-block's step: |err| ≤ d·sc/2. That is a worst-case
/// guarantee rather than the lowest mean error, which is what the tests can check exactly.
/// </summary>
internal static class KQuantizer
{
    public static void QuantizeQ4_K(ReadOnlySpan<float> x, Span<byte> o)
    {
        Span<float> lo = stackalloc float[8], need = stackalloc float[8];
        Span<int> sc = stackalloc int[8], mn = stackalloc int[8];
        float maxOffset = 0;
        for (int j = 0; j < 8; j++)
        {
            float min = 0, max = float.NegativeInfinity; // the offset is never negative, as in llama.cpp (min ≤ 0)
            for (int l = 0; l < 32; l++) { min = MathF.Min(min, x[32 * j + l]); max = MathF.Max(max, x[32 * j + l]); }
            lo[j] = min;
            need[j] = max;
            maxOffset = MathF.Max(maxOffset, -min);
        }
        HalfBits.Write(o, 2, HalfBits.RoundUp(maxOffset / 63f));
        float dmin = HalfBits.Read(o, 2);
        float maxNeed = 0;
        for (int j = 0; j < 8; j++)
        {
            mn[j] = dmin > 0 ? Math.Min(63, (int)Math.Ceiling(-(double)lo[j] / dmin)) : 0;
            need[j] = MathF.Max(0, (need[j] + dmin * mn[j]) / 15f); // step that spans [−offset, max] in 15 steps
            maxNeed = MathF.Max(maxNeed, need[j]);
        }
        HalfBits.Write(o, 0, HalfBits.RoundUp(maxNeed / 63f));
        float d = HalfBits.Read(o, 0);
        for (int j = 0; j < 8; j++) sc[j] = d > 0 ? Math.Min(63, (int)Math.Ceiling(need[j] / (double)d)) : 0;

        // 6-bit packing (inverse of llama.cpp's get_scale_min_k4): sub-blocks 0..3 in the low 6 bits of bytes 0..7,
        // sub-blocks 4..7 as nibbles in bytes 8..11 with their top 2 bits in the high bits of bytes 0..7.
        Span<byte> s = o.Slice(4, 12);
        s.Clear();
        for (int j = 0; j < 4; j++) { s[j] = (byte)sc[j]; s[j + 4] = (byte)mn[j]; }
        for (int j = 4; j < 8; j++)
        {
            s[j + 4] = (byte)((sc[j] & 0xF) | (mn[j] & 0xF) << 4);
            s[j - 4] |= (byte)(sc[j] >> 4 << 6);
            s[j] |= (byte)(mn[j] >> 4 << 6);
        }

        Span<byte> qs = o.Slice(16, 128);
        for (int c = 0; c < 4; c++)
        {
            for (int l = 0; l < 32; l++)
            {
                int a = Code4(x[64 * c + l], d * sc[2 * c], dmin * mn[2 * c]);
                int b = Code4(x[64 * c + 32 + l], d * sc[2 * c + 1], dmin * mn[2 * c + 1]);
                qs[32 * c + l] = (byte)(a | b << 4);
            }
        }
    }

    private static int Code4(float x, float step, float offset)
        => step > 0 ? Math.Clamp((int)MathF.Round((x + offset) / step, MidpointRounding.AwayFromZero), 0, 15) : 0;

    /// <summary>Scale and min of sub-block <paramref name="j"/> from the 12 packed bytes (llama.cpp's get_scale_min_k4).</summary>
    public static (int Scale, int Min) ScaleMin(ReadOnlySpan<byte> s, int j) => j < 4
        ? (s[j] & 63, s[j + 4] & 63)
        : ((s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4, (s[j + 4] >> 4) | (s[j] >> 6) << 4);

    public static void DequantizeQ4_K(ReadOnlySpan<byte> q, Span<float> y)
    {
        float d = HalfBits.Read(q, 0), dmin = HalfBits.Read(q, 2);
        ReadOnlySpan<byte> s = q.Slice(4, 12), qs = q.Slice(16, 128);
        for (int c = 0; c < 4; c++)
        {
            (int sc0, int m0) = ScaleMin(s, 2 * c);
            (int sc1, int m1) = ScaleMin(s, 2 * c + 1);
            float d0 = d * sc0, o0 = dmin * m0, d1 = d * sc1, o1 = dmin * m1;
            for (int l = 0; l < 32; l++)
            {
                y[64 * c + l] = d0 * (qs[32 * c + l] & 0xF) - o0;
                y[64 * c + 32 + l] = d1 * (qs[32 * c + l] >> 4) - o1;
            }
        }
    }

    public static void QuantizeQ6_K(ReadOnlySpan<float> x, Span<byte> o)
    {
        // Symmetric codes in [−31, 31] (code −32 unused): that keeps the bound at half a step without sign games.
        Span<float> need = stackalloc float[16];
        Span<int> sc = stackalloc int[16];
        float maxNeed = 0;
        for (int j = 0; j < 16; j++)
        {
            float amax = 0;
            for (int l = 0; l < 16; l++) amax = MathF.Max(amax, MathF.Abs(x[16 * j + l]));
            need[j] = amax / 31f;
            maxNeed = MathF.Max(maxNeed, need[j]);
        }
        HalfBits.Write(o, 208, HalfBits.RoundUp(maxNeed / 127f));
        float d = HalfBits.Read(o, 208);
        for (int j = 0; j < 16; j++)
        {
            sc[j] = d > 0 ? Math.Min(127, (int)Math.Ceiling(need[j] / (double)d)) : 0;
            o[192 + j] = (byte)(sbyte)sc[j];
        }

        Span<byte> ql = o.Slice(0, 128), qh = o.Slice(128, 64);
        for (int n = 0; n < 2; n++)
        {
            for (int l = 0; l < 32; l++)
            {
                int e = 128 * n + l;
                int q1 = Code6(x[e], d * sc[e / 16]), q2 = Code6(x[e + 32], d * sc[(e + 32) / 16]);
                int q3 = Code6(x[e + 64], d * sc[(e + 64) / 16]), q4 = Code6(x[e + 96], d * sc[(e + 96) / 16]);
                ql[64 * n + l] = (byte)((q1 & 0xF) | (q3 & 0xF) << 4);
                ql[64 * n + 32 + l] = (byte)((q2 & 0xF) | (q4 & 0xF) << 4);
                qh[32 * n + l] = (byte)(q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }

    private static int Code6(float x, float step)
        => step > 0 ? Math.Clamp((int)MathF.Round(x / step, MidpointRounding.AwayFromZero), -32, 31) + 32 : 32;

    public static void DequantizeQ6_K(ReadOnlySpan<byte> q, Span<float> y)
    {
        float d = HalfBits.Read(q, 208);
        ReadOnlySpan<byte> ql = q.Slice(0, 128), qh = q.Slice(128, 64);
        for (int n = 0; n < 2; n++)
        {
            for (int l = 0; l < 32; l++)
            {
                int e = 128 * n + l, h = qh[32 * n + l];
                int q1 = (ql[64 * n + l] & 0xF) | (h & 3) << 4;
                int q2 = (ql[64 * n + 32 + l] & 0xF) | (h >> 2 & 3) << 4;
                int q3 = (ql[64 * n + l] >> 4) | (h >> 4 & 3) << 4;
                int q4 = (ql[64 * n + 32 + l] >> 4) | (h >> 6) << 4;
                y[e] = d * (sbyte)q[192 + e / 16] * (q1 - 32);
                y[e + 32] = d * (sbyte)q[192 + (e + 32) / 16] * (q2 - 32);
                y[e + 64] = d * (sbyte)q[192 + (e + 64) / 16] * (q3 - 32);
                y[e + 96] = d * (sbyte)q[192 + (e + 96) / 16] * (q4 - 32);
            }
        }
    }
}
