using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// Vectorized block dequantization to f32 (16 values per step, portable Vector128 ops, so it runs on every ISA
/// tier). Feeds the prefill GEMM, which converts each weight panel once and reuses it for every activation row; the
/// results equal <see cref="Quantizer.Dequantize"/> exactly (the same single products and differences per element).
/// </summary>
internal static unsafe class QuantDequant
{
    /// <summary>dst[0..count) = the first count values of the blocks at src; count is a multiple of the block size.</summary>
    public static void Row(QuantType type, byte* src, int count, float* dst)
    {
        switch (type)
        {
            case QuantType.Q8_0:
                for (int b = 0; b < count / 32; b++, src += 34, dst += 32)
                {
                    float d = HalfBits.Read(src);
                    Store16(Vector128.Load((sbyte*)src + 2), d, dst);
                    Store16(Vector128.Load((sbyte*)src + 18), d, dst + 16);
                }
                break;
            case QuantType.Q4_0:
                for (int b = 0; b < count / 32; b++, src += 18, dst += 32)
                {
                    float d = HalfBits.Read(src);
                    Vector128<byte> packed = Vector128.Load(src + 2), low4 = Vector128.Create((byte)0x0F), eight = Vector128.Create((byte)8);
                    Store16(((packed & low4) - eight).AsSByte(), d, dst);
                    Store16((Vector128.ShiftRightLogical(packed, 4) - eight).AsSByte(), d, dst + 16);
                }
                break;
            case QuantType.Q4_K:
                for (int b = 0; b < count / 256; b++, src += 144, dst += 256) Q4_K(src, dst);
                break;
            case QuantType.Q5_0:
                for (int b = 0; b < count / 32; b++, src += 22, dst += 32)
                {
                    float d = HalfBits.Read(src);
                    Vector128<byte> packed = Vector128.Load(src + 6), low4 = Vector128.Create((byte)0x0F), sixteen = Vector128.Create((byte)16);
                    (Vector128<byte> high0, Vector128<byte> high1) = FifthBits(Unsafe.ReadUnaligned<uint>(src + 2));
                    Store16(((packed & low4 | high0) - sixteen).AsSByte(), d, dst);
                    Store16(((Vector128.ShiftRightLogical(packed, 4) | high1) - sixteen).AsSByte(), d, dst + 16);
                }
                break;
            default:
                for (int b = 0; b < count / 256; b++, src += 210, dst += 256) Q6_K(src, dst);
                break;
        }
    }

    private static void Q4_K(byte* q, float* y)
    {
        float d = HalfBits.Read(q), dmin = HalfBits.Read(q + 2);
        (ulong scales, ulong mins) = QuantDot256<MaddubsDot>.UnpackQ4KScales(q + 4);
        Vector128<byte> low4 = Vector128.Create((byte)0x0F);
        for (int c = 0; c < 4; c++)
        {
            // d·sc and dmin·m rounded to f32 first, as the scalar dequantizer does, so results match it exactly.
            float s0 = d * (byte)(scales >> (16 * c)), o0 = dmin * (byte)(mins >> (16 * c));
            float s1 = d * (byte)(scales >> (16 * c + 8)), o1 = dmin * (byte)(mins >> (16 * c + 8));
            for (int h = 0; h < 2; h++)
            {
                Vector128<byte> packed = Vector128.Load(q + 16 + 32 * c + 16 * h);
                StoreAffine16(packed & low4, s0, o0, y + 64 * c + 16 * h);
                StoreAffine16(Vector128.ShiftRightLogical(packed, 4), s1, o1, y + 64 * c + 32 + 16 * h);
            }
        }
    }

    private static void Q6_K(byte* q, float* y)
    {
        float d = HalfBits.Read(q + 208);
        sbyte* sc = (sbyte*)(q + 192);
        Vector128<byte> low4 = Vector128.Create((byte)0x0F), three = Vector128.Create((byte)3), bias = Vector128.Create((byte)32);
        for (int n = 0; n < 2; n++)
        {
            for (int h = 0; h < 2; h++) // l in [16h, 16h + 16)
            {
                Vector128<byte> ql = Vector128.Load(q + 64 * n + 16 * h), ql2 = Vector128.Load(q + 64 * n + 32 + 16 * h);
                Vector128<byte> qh = Vector128.Load(q + 128 + 32 * n + 16 * h);
                Vector128<byte> q1 = (ql & low4) | Vector128.ShiftLeft(qh & three, 4);
                Vector128<byte> q2 = (ql2 & low4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 2) & three, 4);
                Vector128<byte> q3 = Vector128.ShiftRightLogical(ql, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 4) & three, 4);
                Vector128<byte> q4 = Vector128.ShiftRightLogical(ql2, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 6), 4);
                int e = 128 * n + 16 * h; // element of q1's first lane; q2..q4 are +32, +64, +96
                // d · sc rounded to f32 first, as the scalar dequantizer does.
                Store16((q1 - bias).AsSByte(), d * sc[e / 16], y + e);
                Store16((q2 - bias).AsSByte(), d * sc[(e + 32) / 16], y + e + 32);
                Store16((q3 - bias).AsSByte(), d * sc[(e + 64) / 16], y + e + 64);
                Store16((q4 - bias).AsSByte(), d * sc[(e + 96) / 16], y + e + 96);
            }
        }
    }

    /// <summary>y[0..16) = codes × scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store16(Vector128<sbyte> codes, float scale, float* y)
    {
        (Vector128<short> lo, Vector128<short> hi) = Vector128.Widen(codes);
        Vector128<float> s = Vector128.Create(scale);
        (Vector128<int> a, Vector128<int> b) = Vector128.Widen(lo);
        (Vector128<int> c, Vector128<int> e) = Vector128.Widen(hi);
        (Vector128.ConvertToSingle(a) * s).Store(y);
        (Vector128.ConvertToSingle(b) * s).Store(y + 4);
        (Vector128.ConvertToSingle(c) * s).Store(y + 8);
        (Vector128.ConvertToSingle(e) * s).Store(y + 12);
    }

    /// <summary>y[0..16) = codes × scale − offset (codes unsigned), rounding the product then the difference as the scalar code does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreAffine16(Vector128<byte> codes, float scale, float offset, float* y)
    {
        (Vector128<ushort> lo, Vector128<ushort> hi) = Vector128.Widen(codes);
        Vector128<float> s = Vector128.Create(scale), o = Vector128.Create(offset);
        (Vector128<uint> a, Vector128<uint> b) = Vector128.Widen(lo);
        (Vector128<uint> c, Vector128<uint> e) = Vector128.Widen(hi);
        (Vector128.ConvertToSingle(a.AsInt32()) * s - o).Store(y);
        (Vector128.ConvertToSingle(b.AsInt32()) * s - o).Store(y + 4);
        (Vector128.ConvertToSingle(c.AsInt32()) * s - o).Store(y + 8);
        (Vector128.ConvertToSingle(e.AsInt32()) * s - o).Store(y + 12);
    }

    /// <summary>Q5_0's 32 fifth bits as 0x10 bytes: elements 0–15 (from qh bits 0–15), then 16–31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector128<byte> First, Vector128<byte> Second) FifthBits(uint qh)
    {
        Vector128<byte> bytes = Vector128.Create(qh).AsByte();
        Vector128<byte> bit = Vector128.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
        Vector128<byte> first = Vector128.Shuffle(bytes, Vector128.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
        Vector128<byte> second = Vector128.Shuffle(bytes, Vector128.Create((byte)2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        Vector128<byte> sixteen = Vector128.Create((byte)16);
        return (Vector128.Equals(first & bit, bit) & sixteen, Vector128.Equals(second & bit, bit) & sixteen);
    }
}
