using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// Portable twins of <see cref="QuantDot256{TDot}"/>: one weight row (in place) · one 8-bit activation row, with
/// exact integer dot products per block; weight offsets use the activation half-sums.
/// </summary>
internal static unsafe class QuantDotScalar
{
    private static int Dot(byte* w, sbyte* a, int n)
    {
        int s = 0;
        for (int i = 0; i < n; i++) s += w[i] * a[i];
        return s;
    }

    public static float Q8_0(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        float acc = 0;
        for (int b = 0; b < blocks32; b++, w += 34)
        {
            int s = 0;
            sbyte* wq = (sbyte*)(w + 2);
            for (int i = 0; i < 32; i++) s += wq[i] * qx[32 * b + i];
            acc += s * HalfBits.Read(w) * dx[b];
        }
        return acc;
    }

    public static float Q4_0(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        float acc = 0;
        for (int b = 0; b < blocks32; b++, w += 18)
        {
            sbyte* a = qx + 32 * b;
            int s = 0;
            for (int i = 0; i < 16; i++) s += (w[2 + i] & 0xF) * a[i] + (w[2 + i] >> 4) * a[i + 16];
            float d = HalfBits.Read(w);
            acc += s * d * dx[b] - 8 * d * (sum16[2 * b] + sum16[2 * b + 1]);
        }
        return acc;
    }

    public static float Q4_K(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        float acc = 0;
        Span<byte> q = stackalloc byte[64];
        for (int sb = 0; sb < blocks32 / 8; sb++, w += 144)
        {
            float d = HalfBits.Read(w), dmin = HalfBits.Read(w + 2);
            var scales = new ReadOnlySpan<byte>(w + 4, 12);
            for (int c = 0; c < 4; c++)
            {
                for (int l = 0; l < 32; l++) { q[l] = (byte)(w[16 + 32 * c + l] & 0xF); q[32 + l] = (byte)(w[16 + 32 * c + l] >> 4); }
                for (int h = 0; h < 2; h++)
                {
                    int bi = 8 * sb + 2 * c + h;
                    (int sc, int mn) = KQuantizer.ScaleMin(scales, 2 * c + h);
                    fixed (byte* pq = q)
                    {
                        int s = Dot(pq + 32 * h, qx + 32 * bi, 32);
                        acc += dx[bi] * d * sc * s - dmin * mn * (sum16[2 * bi] + sum16[2 * bi + 1]);
                    }
                }
            }
        }
        return acc;
    }

    public static float Q6_K(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        float acc = 0;
        Span<byte> q = stackalloc byte[128];
        fixed (byte* pq = q)
        {
            for (int sb = 0; sb < blocks32 / 8; sb++, w += 210)
            {
                float d = HalfBits.Read(w + 208);
                sbyte* sc = (sbyte*)(w + 192);
                for (int n = 0; n < 2; n++)
                {
                    byte* ql = w + 64 * n, qh = w + 128 + 32 * n;
                    for (int l = 0; l < 32; l++)
                    {
                        pq[l] = (byte)((ql[l] & 0xF) | (qh[l] & 3) << 4);
                        pq[l + 32] = (byte)((ql[l + 32] & 0xF) | (qh[l] >> 2 & 3) << 4);
                        pq[l + 64] = (byte)((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4);
                        pq[l + 96] = (byte)((ql[l + 32] >> 4) | (qh[l] >> 6) << 4);
                    }
                    for (int k = 0; k < 8; k++) // 16-value sub-blocks of this half
                    {
                        int j = 8 * n + k, bi = 8 * sb + j / 2;
                        int s = Dot(pq + 16 * k, qx + 16 * (16 * sb + j), 16);
                        acc += d * sc[j] * (dx[bi] * s - 32 * sum16[16 * sb + j]);
                    }
                }
            }
        }
        return acc;
    }

    public static float Q5_0(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        float acc = 0;
        for (int b = 0; b < blocks32; b++, w += 22)
        {
            sbyte* a = qx + 32 * b;
            uint qh = Unsafe.ReadUnaligned<uint>(w + 2);
            int s = 0;
            for (int i = 0; i < 16; i++)
                s += ((w[6 + i] & 0xF) | (int)(qh >> i & 1) << 4) * a[i] + ((w[6 + i] >> 4) | (int)(qh >> (i + 16) & 1) << 4) * a[i + 16];
            float d = HalfBits.Read(w);
            acc += s * d * dx[b] - 16 * d * (sum16[2 * b] + sum16[2 * b + 1]);
        }
        return acc;
    }

    /// <summary>
    /// Twin of <see cref="QuantDotK.Q4_K{TM}"/> for one activation row in <see cref="Q8KActivations"/> form (natural
    /// code order a, scale per 256 da, int16 sums per 16 at sums + 16·stride·b): exact integer sums per super-block,
    /// then d·d_a·Σ sc·dot − dmin·d_a·Σ m·sum in f32.
    /// </summary>
    public static float Q4_K8K(byte* w, sbyte* a, float* da, short* sums, int sumsStride, int cols)
    {
        float acc = 0;
        for (int b = 0; b < cols / 256; b++, w += 144)
        {
            var scales = new ReadOnlySpan<byte>(w + 4, 12);
            int dot = 0, offset = 0;
            for (int j = 0; j < 8; j++)
            {
                (int sc, int mn) = KQuantizer.ScaleMin(scales, j);
                int s = 0;
                for (int l = 0; l < 32; l++)
                {
                    byte packed = w[16 + 32 * (j / 2) + l];
                    s += (j % 2 == 0 ? packed & 0xF : packed >> 4) * a[256 * b + 32 * j + l];
                }
                dot += sc * s;
                offset += mn * (sums[16 * sumsStride * b + 2 * j] + sums[16 * sumsStride * b + 2 * j + 1]);
            }
            acc += HalfBits.Read(w) * da[b] * dot - HalfBits.Read(w + 2) * da[b] * offset;
        }
        return acc;
    }

    /// <summary>Twin of <see cref="QuantDotK.Q6_K{TM}"/> (arguments as <see cref="Q4_K8K"/>): d·d_a·Σ_j sc_j·(Σ q·a − 32·Σ a).</summary>
    public static float Q6_K8K(byte* w, sbyte* a, float* da, short* sums, int sumsStride, int cols)
    {
        float acc = 0;
        for (int b = 0; b < cols / 256; b++, w += 210)
        {
            int total = 0;
            for (int e = 0; e < 256; e++)
            {
                int n = e / 128, l = e % 32, quarter = e % 128 / 32;
                byte ql = w[64 * n + l + (quarter % 2 == 1 ? 32 : 0)];
                int low = quarter < 2 ? ql & 0xF : ql >> 4;
                int high = w[128 + 32 * n + l] >> (2 * quarter) & 3;
                total += ((sbyte*)(w + 192))[e / 16] * (low | high << 4) * a[256 * b + e];
            }
            for (int j = 0; j < 16; j++) total -= 32 * ((sbyte*)(w + 192))[j] * sums[16 * sumsStride * b + j];
            acc += HalfBits.Read(w + 208) * da[b] * total;
        }
        return acc;
    }
}
