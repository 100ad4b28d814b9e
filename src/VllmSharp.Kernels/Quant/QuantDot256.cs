using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// AVX2 kernels: one weight row (read in place) · one 8-bit activation row. Each 32-value block becomes a u8×s8 dot
/// into 8 int32 lanes, converted to float and scaled by weight scale × activation scale with one FMA. Two
/// accumulators alternate so consecutive blocks do not wait on each other's FMA latency. The K-quants' offsets
/// (min, −32) are applied per sub-block from the activations' scaled half-sums; Q4_0's −8 is applied in the bytes.
/// </summary>
internal static unsafe class QuantDot256<TDot> where TDot : struct, IInt8Dot
{
    /// <summary>Signed×signed through u8×s8: |w| × (a with w's sign), as llama.cpp does on AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SignedDot(Vector256<sbyte> w, Vector256<sbyte> a)
        => Vector256.ConvertToSingle(TDot.Dot(Avx2.Abs(w), Avx2.Sign(a, w)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Nibbles(byte* p)
    {
        Vector128<byte> packed = Vector128.Load(p), low4 = Vector128.Create((byte)0x0F);
        Vector256<byte> q = Vector256.Create(packed & low4, Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low4);
        return (q - Vector256.Create((byte)8)).AsSByte();
    }

    public static float Q8_0(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int b = 0;
        for (; b + 1 < blocks32; b += 2, w += 68)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(68));
            acc0 = Vector256.FusedMultiplyAdd(SignedDot(Vector256.Load((sbyte*)(w + 2)), Vector256.Load(qx + 32 * b)), Vector256.Create(HalfBits.Read(w) * dx[b]), acc0);
            acc1 = Vector256.FusedMultiplyAdd(SignedDot(Vector256.Load((sbyte*)(w + 36)), Vector256.Load(qx + 32 * b + 32)), Vector256.Create(HalfBits.Read(w + 34) * dx[b + 1]), acc1);
        }
        if (b < blocks32)
            acc0 = Vector256.FusedMultiplyAdd(SignedDot(Vector256.Load((sbyte*)(w + 2)), Vector256.Load(qx + 32 * b)), Vector256.Create(HalfBits.Read(w) * dx[b]), acc0);
        return Vector256.Sum(acc0 + acc1);
    }

    public static float Q4_0(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int b = 0;
        for (; b + 1 < blocks32; b += 2, w += 36)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(36));
            acc0 = Vector256.FusedMultiplyAdd(SignedDot(Nibbles(w + 2), Vector256.Load(qx + 32 * b)), Vector256.Create(HalfBits.Read(w) * dx[b]), acc0);
            acc1 = Vector256.FusedMultiplyAdd(SignedDot(Nibbles(w + 20), Vector256.Load(qx + 32 * b + 32)), Vector256.Create(HalfBits.Read(w + 18) * dx[b + 1]), acc1);
        }
        if (b < blocks32)
            acc0 = Vector256.FusedMultiplyAdd(SignedDot(Nibbles(w + 2), Vector256.Load(qx + 32 * b)), Vector256.Create(HalfBits.Read(w) * dx[b]), acc0);
        return Vector256.Sum(acc0 + acc1);
    }

    /// <summary>Q5_0: nibbles plus fifth bits, minus 16, through the signed dot (as Q4_0).</summary>
    public static float Q5_0(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        Vector128<byte> low4 = Vector128.Create((byte)0x0F);
        for (int b = 0; b < blocks32; b++, w += 22)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(22));
            Vector128<byte> packed = Vector128.Load(w + 6);
            (Vector128<byte> high0, Vector128<byte> high1) = QuantDequant.FifthBits(Unsafe.ReadUnaligned<uint>(w + 2));
            Vector256<byte> q = Vector256.Create(packed & low4 | high0, Vector128.ShiftRightLogical(packed, 4) | high1) - Vector256.Create((byte)16);
            acc = Vector256.FusedMultiplyAdd(SignedDot(q.AsSByte(), Vector256.Load(qx + 32 * b)), Vector256.Create(HalfBits.Read(w) * dx[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    public static float Q4_K(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero, mins = Vector256<float>.Zero;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        float* scale = stackalloc float[8];
        for (int sb = 0; sb < blocks32 / 8; sb++, w += 144)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(144));
            // The 8 scales and 8 mins of the super-block at once: unpacked into bytes, widened to float and
            // multiplied by d × activation scale, so the inner loop only broadcasts one float per 32 values.
            (ulong scales, ulong minCodes) = UnpackQ4KScales(w + 4);
            Vector256<float> dxs = Vector256.Load(dx + 8 * sb);
            (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(scales).AsByte())) * (dxs * HalfBits.Read(w))).Store(scale);
            // Σ_j min_j · (sum of block j's dequantized activations): pairwise-add the half sums, restore block order.
            Vector256<float> h = Avx.HorizontalAdd(Vector256.Load(sum16 + 16 * sb), Vector256.Load(sum16 + 16 * sb + 8));
            Vector256<float> blockSums = Avx2.Permute4x64(h.AsDouble(), 0b11_01_10_00).AsSingle();
            Vector256<float> minF = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(minCodes).AsByte()));
            mins = Vector256.FusedMultiplyAdd(minF * HalfBits.Read(w + 2), blockSums, mins);

            sbyte* a = qx + 256 * sb;
            for (int c = 0; c < 4; c++)
            {
                Vector256<byte> packed = Vector256.Load(w + 16 + 32 * c);
                Vector256<int> dot0 = TDot.Dot(packed & low4, Vector256.Load(a + 64 * c));
                Vector256<int> dot1 = TDot.Dot(Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low4, Vector256.Load(a + 64 * c + 32));
                acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot0), Vector256.Create(scale[2 * c]), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(dot1), Vector256.Create(scale[2 * c + 1]), acc1);
            }
        }
        return Vector256.Sum(acc0 + acc1) - Vector256.Sum(mins);
    }

    /// <summary>
    /// The 12 packed bytes → 8 six-bit scales and 8 six-bit mins, one per byte, with three 32-bit word operations
    /// per output word (same bit layout as <see cref="KQuantizer.ScaleMin"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (ulong Scales, ulong Mins) UnpackQ4KScales(byte* p)
    {
        uint w0 = Unsafe.ReadUnaligned<uint>(p), w1 = Unsafe.ReadUnaligned<uint>(p + 4), w2 = Unsafe.ReadUnaligned<uint>(p + 8);
        const uint low6 = 0x3F3F3F3F, low4 = 0x0F0F0F0F, low2 = 0x03030303;
        uint scLow = w0 & low6, scHigh = (w2 & low4) | ((w0 >> 6) & low2) << 4;
        uint mnLow = w1 & low6, mnHigh = ((w2 >> 4) & low4) | ((w1 >> 6) & low2) << 4;
        return (scLow | (ulong)scHigh << 32, mnLow | (ulong)mnHigh << 32);
    }

    public static float Q6_K(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        float offset = 0;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F), bits45 = Vector256.Create((byte)0x30);
        for (int sb = 0; sb < blocks32 / 8; sb++, w += 210)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(210));
            float d = HalfBits.Read(w + 208);
            sbyte* sc = (sbyte*)(w + 192);
            float* s16 = sum16 + 16 * sb;
            float subSum = 0;
            for (int n = 0; n < 2; n++)
            {
                Vector256<byte> lo = Vector256.Load(w + 64 * n), hi = Vector256.Load(w + 64 * n + 32);
                Vector256<ushort> h = Vector256.Load(w + 128 + 32 * n).AsUInt16();
                // Each qh byte holds the top 2 bits of 4 values; shifting 16-bit lanes then masking bits 4–5 keeps
                // only this byte's pair (the bits carried across the byte boundary are masked off).
                Vector256<byte> q0 = (lo & low4) | ((h << 4).AsByte() & bits45);
                Vector256<byte> q1 = (hi & low4) | ((h << 2).AsByte() & bits45);
                Vector256<byte> q2 = ((lo.AsUInt16() >> 4).AsByte() & low4) | (h.AsByte() & bits45);
                Vector256<byte> q3 = ((hi.AsUInt16() >> 4).AsByte() & low4) | ((h >> 2).AsByte() & bits45);
                int bi = 8 * sb + 4 * n, j = 8 * n;
                acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot(q0, Vector256.Load(qx + 32 * bi))), HalfScales(d * dx[bi], sc + j), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot(q1, Vector256.Load(qx + 32 * bi + 32))), HalfScales(d * dx[bi + 1], sc + j + 2), acc1);
                acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot(q2, Vector256.Load(qx + 32 * bi + 64))), HalfScales(d * dx[bi + 2], sc + j + 4), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(TDot.Dot(q3, Vector256.Load(qx + 32 * bi + 96))), HalfScales(d * dx[bi + 3], sc + j + 6), acc1);
            }
            for (int j = 0; j < 16; j++) subSum += sc[j] * s16[j];
            offset += 32 * d * subSum;
        }
        return Vector256.Sum(acc0 + acc1) - offset;
    }

    /// <summary>int32 lanes 0–3 of a block's dot hold its first 16 values, lanes 4–7 the second: each has its own scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfScales(float scale, sbyte* sc)
        => Vector256.Create(Vector128.Create(scale * sc[0]), Vector128.Create(scale * sc[1]));
}
