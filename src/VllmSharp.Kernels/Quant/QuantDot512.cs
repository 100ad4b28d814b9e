using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// AVX-512BW kernels for the K-quants, where the 256-bit kernels are compute-bound rather than memory-bound: every
/// 64 values (Q4_K: low then high nibbles of 32 bytes; Q6_K: two 32-value quarters) are one 512-bit u8×s8
/// multiply-add against 64 contiguous activation codes, and the sub-block scales are applied with one permute + FMA.
/// .NET 10 exposes no 512-bit VPDPBUSD (only AVX10.2's signed variants), so this uses VPMADDUBSW + VPMADDWD; the int16
/// pair sums stay ≤ 2·63·127 = 16002 and cannot saturate. (A 512-bit Q4_0 kernel measured slower than the 256-bit
/// one here: its per-block scalar scale work dominates, so Q4_0 and Q8_0 stay on 256 bits.) These are the fallback
/// when no Q8_K activations were prepared (<see cref="QuantDotK"/> is the decode path).
/// </summary>
internal static unsafe class QuantDot512
{
    public static float Q4_K(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
        Vector256<float> mins = Vector256<float>.Zero;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        Vector512<short> ones = Vector512.Create((short)1);
        // Lane selectors: lanes 0–7 take sub-block 2c's scale, lanes 8–15 sub-block 2c+1's.
        Vector512<int> pick0 = Vector512.Create(Vector256.Create(0), Vector256.Create(1));
        Vector512<int> pick1 = Vector512.Create(Vector256.Create(2), Vector256.Create(3));
        Vector512<int> pick2 = Vector512.Create(Vector256.Create(4), Vector256.Create(5));
        Vector512<int> pick3 = Vector512.Create(Vector256.Create(6), Vector256.Create(7));
        for (int sb = 0; sb < blocks32 / 8; sb++, w += 144)
        {
            (ulong scales, ulong minCodes) = QuantDot256<MaddubsDot>.UnpackQ4KScales(w + 4);
            // Same operation order as Q4_KRows4, so a row's result does not depend on the batch it came in.
            Vector256<float> scale8 = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(scales).AsByte())) * HalfBits.Read(w)
                * Vector256.Load(dx + 8 * sb);
            Vector512<float> scale = Vector512.Create(scale8, scale8);
            Vector256<float> blockSums = BlockSums(sum16 + 16 * sb);
            Vector256<float> minF = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(minCodes).AsByte()));
            mins = Vector256.FusedMultiplyAdd(minF * HalfBits.Read(w + 2), blockSums, mins);

            sbyte* a = qx + 256 * sb;
            acc0 = Vector512.FusedMultiplyAdd(Chunk(w + 16, a, low4, ones), Avx512F.PermuteVar16x32(scale, pick0), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Chunk(w + 48, a + 64, low4, ones), Avx512F.PermuteVar16x32(scale, pick1), acc1);
            acc0 = Vector512.FusedMultiplyAdd(Chunk(w + 80, a + 128, low4, ones), Avx512F.PermuteVar16x32(scale, pick2), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Chunk(w + 112, a + 192, low4, ones), Avx512F.PermuteVar16x32(scale, pick3), acc1);
        }
        return Vector512.Sum(acc0 + acc1) - Vector256.Sum(mins);
    }

    public static float Q6_K(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32)
    {
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero, offsets = Vector512<float>.Zero;
        Vector512<byte> low4 = Vector512.Create((byte)0x0F), bits45 = Vector512.Create((byte)0x30);
        Vector512<short> ones = Vector512.Create((short)1);
        // Lane i of a 64-value dot covers values 4i..4i+3, i.e. 16-value sub-block i/4 of that chunk.
        Vector512<int> sel0 = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), four = Vector512.Create(4);
        Vector512<int> dupPairs = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        Vector512<ushort> shift01 = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)2));
        Vector512<ushort> shift23 = Vector512.Create(Vector256.Create((ushort)0), Vector256.Create((ushort)2));
        for (int sb = 0; sb < blocks32 / 8; sb++, w += 210)
        {
            // d·sc_j for the 16 sub-blocks; the −32 offset is 32·Σ_j d·sc_j·(scaled half-sum j).
            Vector512<float> dsc = Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)(w + 192)))) * HalfBits.Read(w + 208);
            offsets = Vector512.FusedMultiplyAdd(dsc, Vector512.Load(sum16 + 16 * sb), offsets);
            // Each 32-value activation block scale serves two 16-value sub-blocks.
            Vector512<float> scale = dsc * Avx512F.PermuteVar16x32(Vector512.Create(Vector256.Load(dx + 8 * sb), Vector256<float>.Zero), dupPairs);
            sbyte* a = qx + 256 * sb;
            Vector512<int> sel = sel0;
            for (int n = 0; n < 2; n++, sel += four + four)
            {
                // ql bytes 0..63 of this half: low nibbles are quarters 0 and 1, high nibbles quarters 2 and 3; each qh
                // byte holds the four 2-bit tops, moved to bits 4–5 by 16-bit shifts (cross-byte carries masked off).
                Vector512<byte> ql = Vector512.Load(w + 64 * n);
                // The 32 qh bytes in both halves, then one per-half variable shift each: [h<<4 | h<<2] and [h | h>>2].
                // (Building the halves with two inserts chained each iteration on the previous register's contents.)
                Vector512<ushort> h = Vector512.Create(Vector256.Load(w + 128 + 32 * n).AsUInt16());
                Vector512<byte> top01 = Avx512BW.ShiftLeftLogicalVariable(h, shift01).AsByte() & bits45;
                Vector512<byte> top23 = Avx512BW.ShiftRightLogicalVariable(h, shift23).AsByte() & bits45;
                Vector512<byte> q01 = (ql & low4) | top01;
                Vector512<byte> q23 = ((ql.AsUInt16() >> 4).AsByte() & low4) | top23;
                Vector512<int> dot01 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q01, Vector512.Load(a + 128 * n)), ones);
                Vector512<int> dot23 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q23, Vector512.Load(a + 128 * n + 64)), ones);
                acc0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(dot01), Avx512F.PermuteVar16x32(scale, sel), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(dot23), Avx512F.PermuteVar16x32(scale, sel + four), acc1);
            }
        }
        return Vector512.Sum(acc0 + acc1) - 32 * Vector512.Sum(offsets);
    }

    /// <summary>
    /// Q4_K against four activation rows at once (prefill): each 64-value chunk is unpacked once and multiplied with
    /// four rows' codes, so the unpacking and scale decoding are amortised. Results go to result[0..3].
    /// </summary>
    public static void Q4_KRows4(byte* w, sbyte* qx, float* dx, float* sum16, int blocks32, int cols, float* result)
    {
        // Two accumulators per row (even and odd chunks), exactly as the single-row kernel sums.
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero, acc2 = Vector512<float>.Zero, acc3 = Vector512<float>.Zero;
        Vector512<float> odd0 = Vector512<float>.Zero, odd1 = Vector512<float>.Zero, odd2 = Vector512<float>.Zero, odd3 = Vector512<float>.Zero;
        Vector256<float> mins0 = Vector256<float>.Zero, mins1 = Vector256<float>.Zero, mins2 = Vector256<float>.Zero, mins3 = Vector256<float>.Zero;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        Vector512<short> ones = Vector512.Create((short)1);
        Vector512<int> pick = Vector512.Create(Vector256.Create(0), Vector256.Create(1)), two = Vector512.Create(2);
        sbyte* a0 = qx, a1 = qx + cols, a2 = qx + 2 * cols, a3 = qx + 3 * cols;
        float* d0 = dx, d1 = dx + blocks32, d2 = dx + 2 * blocks32, d3 = dx + 3 * blocks32;
        float* s0 = sum16, s1 = sum16 + 2 * blocks32, s2 = sum16 + 4 * blocks32, s3 = sum16 + 6 * blocks32;
        for (int sb = 0; sb < blocks32 / 8; sb++, w += 144)
        {
            (ulong scales, ulong minCodes) = QuantDot256<MaddubsDot>.UnpackQ4KScales(w + 4);
            Vector256<float> wScale = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(scales).AsByte())) * HalfBits.Read(w);
            Vector256<float> wMin = Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(minCodes).AsByte())) * HalfBits.Read(w + 2);
            int o8 = 8 * sb, o16 = 16 * sb, o256 = 256 * sb;
            Vector512<float> sc0 = Widen(wScale * Vector256.Load(d0 + o8)), sc1 = Widen(wScale * Vector256.Load(d1 + o8));
            Vector512<float> sc2 = Widen(wScale * Vector256.Load(d2 + o8)), sc3 = Widen(wScale * Vector256.Load(d3 + o8));
            mins0 = Vector256.FusedMultiplyAdd(wMin, BlockSums(s0 + o16), mins0);
            mins1 = Vector256.FusedMultiplyAdd(wMin, BlockSums(s1 + o16), mins1);
            mins2 = Vector256.FusedMultiplyAdd(wMin, BlockSums(s2 + o16), mins2);
            mins3 = Vector256.FusedMultiplyAdd(wMin, BlockSums(s3 + o16), mins3);
            Vector512<int> sel = pick;
            for (int c = 0; c < 4; c += 2, sel += two + two)
            {
                Vector256<byte> packed = Vector256.Load(w + 16 + 32 * c);
                Vector512<byte> q = Vector512.Create(packed & low4, Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low4);
                int o = o256 + 64 * c;
                acc0 = Vector512.FusedMultiplyAdd(Dot(q, a0 + o, ones), Avx512F.PermuteVar16x32(sc0, sel), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Dot(q, a1 + o, ones), Avx512F.PermuteVar16x32(sc1, sel), acc1);
                acc2 = Vector512.FusedMultiplyAdd(Dot(q, a2 + o, ones), Avx512F.PermuteVar16x32(sc2, sel), acc2);
                acc3 = Vector512.FusedMultiplyAdd(Dot(q, a3 + o, ones), Avx512F.PermuteVar16x32(sc3, sel), acc3);
                packed = Vector256.Load(w + 48 + 32 * c);
                q = Vector512.Create(packed & low4, Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low4);
                Vector512<int> selOdd = sel + two;
                odd0 = Vector512.FusedMultiplyAdd(Dot(q, a0 + o + 64, ones), Avx512F.PermuteVar16x32(sc0, selOdd), odd0);
                odd1 = Vector512.FusedMultiplyAdd(Dot(q, a1 + o + 64, ones), Avx512F.PermuteVar16x32(sc1, selOdd), odd1);
                odd2 = Vector512.FusedMultiplyAdd(Dot(q, a2 + o + 64, ones), Avx512F.PermuteVar16x32(sc2, selOdd), odd2);
                odd3 = Vector512.FusedMultiplyAdd(Dot(q, a3 + o + 64, ones), Avx512F.PermuteVar16x32(sc3, selOdd), odd3);
            }
        }
        result[0] = Vector512.Sum(acc0 + odd0) - Vector256.Sum(mins0);
        result[1] = Vector512.Sum(acc1 + odd1) - Vector256.Sum(mins1);
        result[2] = Vector512.Sum(acc2 + odd2) - Vector256.Sum(mins2);
        result[3] = Vector512.Sum(acc3 + odd3) - Vector256.Sum(mins3);
    }

    private static Vector512<float> Widen(Vector256<float> v) => Vector512.Create(v, v);

    private static Vector512<float> Dot(Vector512<byte> q, sbyte* a, Vector512<short> ones)
        => Vector512.ConvertToSingle(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(a)), ones));

    /// <summary>Sums of the 8 blocks' dequantized activations, in block order, from their 16 half-sums.</summary>
    private static Vector256<float> BlockSums(float* halfSums)
    {
        Vector256<float> h = Avx.HorizontalAdd(Vector256.Load(halfSums), Vector256.Load(halfSums + 8));
        return Avx2.Permute4x64(h.AsDouble(), 0b11_01_10_00).AsSingle();
    }

    private static Vector512<float> Chunk(byte* packedPtr, sbyte* a, Vector256<byte> low4, Vector512<short> ones)
    {
        Vector256<byte> packed = Vector256.Load(packedPtr);
        Vector512<byte> q = Vector512.Create(packed & low4, Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low4);
        Vector512<int> dot = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(a)), ones);
        return Vector512.ConvertToSingle(dot);
    }
}
