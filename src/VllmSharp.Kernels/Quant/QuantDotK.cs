using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// AVX-512BW decode kernels for Q4_K and Q6_K against <see cref="Q8KActivations"/> (one f32 activation scale per 256
/// values), as llama.cpp does: a whole 256-value super-block is accumulated in int32 — VPMADDUBSW (u8 weight codes ×
/// s8 activation codes) then VPMADDWD against the sub-block scales broadcast to their 16-bit lanes — and the weights'
/// offsets come out exactly in int32 from the activation sums per 16 values. Per super-block and activation row there
/// are two int→float conversions and FMAs (the dot, 512-bit; the offset, 256-bit), where the per-32-scale kernels
/// (<see cref="QuantDot512"/>) needed a conversion, permute and FMA per 64 values. .NET 10 exposes no 512-bit
/// VPDPBUSD here, hence maddubs + madd. f16 scales are read with <see cref="Half"/>: K-quant scales are often f16
/// subnormals, which cost <see cref="HalfBits.Read(byte*)"/> a microcode assist per block.
/// <para>
/// Integer ranges: Q6_K pair sums ≤ 2·63·127 = 16002 (no VPMADDUBSW saturation), × |scale| ≤ 128 × 2 per madd lane,
/// 4 chunks per lane: ≤ 1.7·10⁷; Q4_K ≤ 4·2·(2·15·127)·63 ≈ 1.9·10⁶. No int32 overflow.
/// </para>
/// <para>
/// Up to 4 activation rows share each unpacked super-block; every row goes through the same operations in the same
/// order whatever TM is, so a row's result is bitwise independent of its batch.
/// </para>
/// </summary>
internal static unsafe class QuantDotK
{
    /// <summary>Whether this machine runs these kernels.</summary>
    public static bool IsSupported => Avx512BW.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// One Q6_K weight row (cols values) against TM activation rows i0 .. i0+TM−1 of the Q8_K region (m rows in all);
    /// results to result[0..TM).
    /// </summary>
    [SkipLocalsInit]
    public static void Q6_K<TM>(byte* w, sbyte* region, int m, int i0, int cols, float* result) where TM : struct, MatMul.IRowCount
    {
        int nb = cols / 256;
        sbyte* a0 = Q8KActivations.Codes(region, cols, i0);
        float* d0 = Q8KActivations.Scales(region, m, cols, i0);
        short* s0 = Q8KActivations.Sums16(region, m, cols, i0);
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        Vector256<float> g0 = default, g1 = default, g2 = default, g3 = default;
        Vector512<byte> low4 = Vector512.Create((byte)0x0F), bits45 = Vector512.Create((byte)0x30);
        Vector512<ushort> shift01 = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)2));
        Vector512<ushort> shift23 = Vector512.Create(Vector256.Create((ushort)0), Vector256.Create((ushort)2));
        // 128-bit lane L of the k-th 64-value chunk is 16-value sub-block 4k+L: its 8 madd word pairs take that scale.
        Vector512<short> idx0 = Lanes(0, 1, 2, 3), idx1 = Lanes(4, 5, 6, 7), idx2 = Lanes(8, 9, 10, 11), idx3 = Lanes(12, 13, 14, 15);
        for (int b = 0; b < nb; b++, w += 210)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(210));
            Vector256<short> sc = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + 192)));
            Vector512<short> sc2 = sc.ToVector512Unsafe(); // vpermw indices stay < 16: the upper half is never read
            float dw = HalfBits.Read(w + 208);
            // ql bytes 0..63 of each half: low nibbles are values 0..63 of the half, high nibbles 64..127; each qh byte
            // holds four 2-bit tops, moved to bits 4–5 by per-half 16-bit shifts (cross-byte carries masked off).
            Vector512<byte> ql = Vector512.Load(w);
            Vector512<ushort> h = Both(w + 128);
            Vector512<byte> q0 = (ql & low4) | (Avx512BW.ShiftLeftLogicalVariable(h, shift01).AsByte() & bits45);
            Vector512<byte> q1 = ((ql.AsUInt16() >> 4).AsByte() & low4) | (Avx512BW.ShiftRightLogicalVariable(h, shift23).AsByte() & bits45);
            ql = Vector512.Load(w + 64);
            h = Both(w + 160);
            Vector512<byte> q2 = (ql & low4) | (Avx512BW.ShiftLeftLogicalVariable(h, shift01).AsByte() & bits45);
            Vector512<byte> q3 = ((ql.AsUInt16() >> 4).AsByte() & low4) | (Avx512BW.ShiftRightLogicalVariable(h, shift23).AsByte() & bits45);
            Vector512<short> c0 = Avx512BW.PermuteVar32x16(sc2, idx0), c1 = Avx512BW.PermuteVar32x16(sc2, idx1);
            Vector512<short> c2 = Avx512BW.PermuteVar32x16(sc2, idx2), c3 = Avx512BW.PermuteVar32x16(sc2, idx3);
            int o = 256 * b;
            Q6Row(q0, q1, q2, q3, c0, c1, c2, c3, sc, a0 + o, s0 + 16 * m * b, dw * d0[b], ref f0, ref g0);
            if (TM.Value > 1) Q6Row(q0, q1, q2, q3, c0, c1, c2, c3, sc, a0 + cols + o, s0 + 16 * m * b + 16, dw * d0[nb + b], ref f1, ref g1);
            if (TM.Value > 2) Q6Row(q0, q1, q2, q3, c0, c1, c2, c3, sc, a0 + 2 * cols + o, s0 + 16 * m * b + 32, dw * d0[2 * nb + b], ref f2, ref g2);
            if (TM.Value > 3) Q6Row(q0, q1, q2, q3, c0, c1, c2, c3, sc, a0 + 3 * cols + o, s0 + 16 * m * b + 48, dw * d0[3 * nb + b], ref f3, ref g3);
        }
        result[0] = Finish(f0, g0);
        if (TM.Value > 1) result[1] = Finish(f1, g1);
        if (TM.Value > 2) result[2] = Finish(f2, g2);
        if (TM.Value > 3) result[3] = Finish(f3, g3);
    }

    /// <summary>
    /// d_w·d_a·Σ_j sc_j·Σ q·a into f and 32·d_w·d_a·Σ_j sc_j·Σ a (the −32 offset) into g, both from exact int32 sums.
    /// (Subtracting the offset in int32 instead, via a zero-extended 256-bit vector, measured 3× slower per row here.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6Row(Vector512<byte> q0, Vector512<byte> q1, Vector512<byte> q2, Vector512<byte> q3,
        Vector512<short> c0, Vector512<short> c1, Vector512<short> c2, Vector512<short> c3, Vector256<short> sc,
        sbyte* a, short* sums, float d, ref Vector512<float> f, ref Vector256<float> g)
        => SuperBlockRow(q0, q1, q2, q3, c0, c1, c2, c3, sc, a, sums, d, 32 * d, ref f, ref g);

    /// <summary>
    /// One Q4_K weight row against TM activation rows (codes in <see cref="Q8KActivations.Q4KOrder"/>): each 64-byte
    /// nibble load is two 64-value vectors, low nibbles = sub-blocks (4h, 4h+2), high = (4h+1, 4h+3).
    /// </summary>
    [SkipLocalsInit]
    public static void Q4_K<TM>(byte* w, sbyte* region, int m, int i0, int cols, float* result) where TM : struct, MatMul.IRowCount
    {
        int nb = cols / 256;
        sbyte* a0 = Q8KActivations.Q4KOrder(region, m, cols, i0);
        float* d0 = Q8KActivations.Scales(region, m, cols, i0);
        short* s0 = Q8KActivations.Sums16(region, m, cols, i0);
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        Vector256<float> g0 = default, g1 = default, g2 = default, g3 = default;
        Vector512<byte> low4 = Vector512.Create((byte)0x0F);
        // 256-bit half H of a vector is one 32-value sub-block; its 16 madd words take that scale.
        Vector512<short> idx0 = Halves(0, 2), idx1 = Halves(1, 3), idx2 = Halves(4, 6), idx3 = Halves(5, 7);
        // Headers are decoded two super-blocks at a time (one 256-bit pass; block 1's words are 16 further on), an
        // odd last block alone: the same exact bit operations either way.
        Vector512<short> idx4 = Halves(16, 18), idx5 = Halves(17, 19), idx6 = Halves(20, 22), idx7 = Halves(21, 23);
        int b = 0;
        for (; b + 2 <= nb; b += 2, w += 288)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(288));
            (Vector512<short> sm, Vector512<short> mins, Vector128<float> dd) = Q4HeaderPair(w);
            Q4Block<TM>(w, b, sm, idx0, idx1, idx2, idx3, mins.GetLower(), dd.ToScalar(), dd.GetElement(1), low4, a0, d0, s0, m, nb, cols,
                ref f0, ref f1, ref f2, ref f3, ref g0, ref g1, ref g2, ref g3);
            Q4Block<TM>(w + 144, b + 1, sm, idx4, idx5, idx6, idx7, mins.GetUpper(), dd.GetElement(2), dd.GetElement(3), low4, a0, d0, s0, m, nb, cols,
                ref f0, ref f1, ref f2, ref f3, ref g0, ref g1, ref g2, ref g3);
        }
        if (b < nb)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(144));
            (Vector256<short> sc, Vector256<short> mn2, Vector128<float> dd) = Q4Header(w);
            Q4Block<TM>(w, b, sc.ToVector512Unsafe(), idx0, idx1, idx2, idx3, mn2, dd.ToScalar(), dd.GetElement(1), low4, a0, d0, s0, m, nb, cols,
                ref f0, ref f1, ref f2, ref f3, ref g0, ref g1, ref g2, ref g3);
        }
        result[0] = Finish(f0, g0);
        if (TM.Value > 1) result[1] = Finish(f1, g1);
        if (TM.Value > 2) result[2] = Finish(f2, g2);
        if (TM.Value > 3) result[3] = Finish(f3, g3);
    }

    /// <summary>
    /// Super-block b (at w) against the TM rows: the scales are words i·(0..7) of sm picked by the four vpermw indices,
    /// mn2 the doubled mins, dw/dmin the decoded f16s.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4Block<TM>(byte* w, int b, Vector512<short> sm, Vector512<short> idx0, Vector512<short> idx1, Vector512<short> idx2,
        Vector512<short> idx3, Vector256<short> mn2, float dw, float dmin, Vector512<byte> low4, sbyte* a0, float* d0, short* s0, int m, int nb, int cols,
        ref Vector512<float> f0, ref Vector512<float> f1, ref Vector512<float> f2, ref Vector512<float> f3,
        ref Vector256<float> g0, ref Vector256<float> g1, ref Vector256<float> g2, ref Vector256<float> g3) where TM : struct, MatMul.IRowCount
    {
        Vector512<byte> packed = Vector512.Load(w + 16);
        Vector512<byte> q0 = packed & low4, q1 = (packed.AsUInt16() >> 4).AsByte() & low4;
        packed = Vector512.Load(w + 80);
        Vector512<byte> q2 = packed & low4, q3 = (packed.AsUInt16() >> 4).AsByte() & low4;
        Vector512<short> c0 = Avx512BW.PermuteVar32x16(sm, idx0), c1 = Avx512BW.PermuteVar32x16(sm, idx1);
        Vector512<short> c2 = Avx512BW.PermuteVar32x16(sm, idx2), c3 = Avx512BW.PermuteVar32x16(sm, idx3);
        int o = 256 * b;
        SuperBlockRow(q0, q1, q2, q3, c0, c1, c2, c3, mn2, a0 + o, s0 + 16 * m * b, dw * d0[b], dmin * d0[b], ref f0, ref g0);
        if (TM.Value > 1) SuperBlockRow(q0, q1, q2, q3, c0, c1, c2, c3, mn2, a0 + cols + o, s0 + 16 * m * b + 16, dw * d0[nb + b], dmin * d0[nb + b], ref f1, ref g1);
        if (TM.Value > 2) SuperBlockRow(q0, q1, q2, q3, c0, c1, c2, c3, mn2, a0 + 2 * cols + o, s0 + 16 * m * b + 32, dw * d0[2 * nb + b], dmin * d0[2 * nb + b], ref f2, ref g2);
        if (TM.Value > 3) SuperBlockRow(q0, q1, q2, q3, c0, c1, c2, c3, mn2, a0 + 3 * cols + o, s0 + 16 * m * b + 48, dw * d0[3 * nb + b], dmin * d0[3 * nb + b], ref f3, ref g3);
    }

    /// <summary>
    /// <see cref="Q4Header"/> for the super-blocks at w and w + 144 in one 256-bit pass: 32 words (block 0's scales
    /// and mins, then block 1's), the doubled mins of block 0 then block 1, and (d₀, dmin₀, d₁, dmin₁).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<short> ScalesMins, Vector512<short> MinsTwice, Vector128<float> DDmin) Q4HeaderPair(byte* w)
    {
        const byte Z = 0x80;
        Vector256<byte> v = Vector256.Create(Vector128.Load(w), Vector128.Load(w + 144));
        Vector256<byte> low = Avx2.Shuffle(v, Vector256.Create((byte)4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15, 4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
        Vector256<byte> tops = Avx2.Shuffle(v, Vector256.Create(Z, Z, Z, Z, 4, 5, 6, 7, Z, Z, Z, Z, 8, 9, 10, 11, Z, Z, Z, Z, 4, 5, 6, 7, Z, Z, Z, Z, 8, 9, 10, 11));
        Vector256<byte> bits = (low & Vector256.Create((byte)63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0, 63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0))
            | ((low.AsUInt16() >> 4).AsByte() & Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15))
            | ((tops.AsUInt16() >> 2).AsByte() & Vector256.Create((byte)0x30));
        Vector512<short> scalesMins = Avx512BW.ConvertToVector512Int16(bits);
        Vector512<short> minsTwice = Avx512BW.PermuteVar32x16(scalesMins, Vector512.Create(
            (short)8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 24, 24, 25, 25, 26, 26, 27, 27, 28, 28, 29, 29, 30, 30, 31, 31));
        Vector128<uint> h = Sse41.ConvertToVector128Int32(Vector128.Create(*(uint*)w, *(uint*)(w + 144), 0, 0).AsUInt16()).AsUInt32();
        return (scalesMins, minsTwice, HalvesToSingle(h));
    }

    /// <summary>
    /// One K-quant super-block against one activation row: d·Σ_j c_j·(Σ q·a) into f (the codes' dot, scales c per
    /// 16-bit lane) and offsetScale·Σ_j w_j·(Σ a) into g (the codes' offset: Q4_K's mins with dmin·d_a, Q6_K's scales
    /// with 32·d), both from exact int32 sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SuperBlockRow(Vector512<byte> q0, Vector512<byte> q1, Vector512<byte> q2, Vector512<byte> q3,
        Vector512<short> c0, Vector512<short> c1, Vector512<short> c2, Vector512<short> c3, Vector256<short> offsetWeights,
        sbyte* a, short* sums, float d, float offsetScale, ref Vector512<float> f, ref Vector256<float> g)
    {
        Vector512<int> p = (Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q0, Vector512.Load(a)), c0)
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q1, Vector512.Load(a + 64)), c1))
            + (Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q2, Vector512.Load(a + 128)), c2)
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q3, Vector512.Load(a + 192)), c3));
        f = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(p), Vector512.Create(d), f);
        Vector256<int> offset = Avx2.MultiplyAddAdjacent(Vector256.Load(sums), offsetWeights);
        g = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(offset), Vector256.Create(offsetScale), g);
    }

    /// <summary>Σ f − Σ g with one horizontal reduction (the two took ~36 instructions per row, ~10 % of a 2048-wide row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector512<float> f, Vector256<float> g) => Vector256.Sum(f.GetLower() + f.GetUpper() - g);

    /// <summary>
    /// A Q4_K super-block's 16-byte header in vector registers (the scalar unpacking took ~50 of ~85 instructions per
    /// block): the 8 six-bit scales then the 8 mins as 16 words, the mins doubled (m0 m0 m1 m1 …) for the 16-value
    /// sums, and (d, dmin) as floats in lanes 0 and 1. Bit layout as <see cref="KQuantizer.ScaleMin"/>, with s[k] =
    /// header byte 4 + k: j &lt; 4: sc = s[j] &amp; 63, m = s[j+4] &amp; 63; j ≥ 4: sc = (s[j+4] &amp; 15) | (s[j−4] &gt;&gt; 6) &lt;&lt; 4,
    /// m = (s[j+4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4. (Decoding 4 headers per 512-bit pass into a stack table first
    /// measured 30 % slower: the table's stores and reloads cost more than they saved.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short> ScalesMins, Vector256<short> MinsTwice, Vector128<float> DDmin) Q4Header(byte* w)
    {
        const byte Z = 0x80; // pshufb: zero
        Vector128<byte> v = Vector128.Load(w);
        // Byte k: the byte with output k's low bits ([sc0..7, mn0..7]; mn4..7 in its high nibble), then the byte
        // with bits 6–7 of sc4..7 and mn4..7, moved to bits 4–5 by a 16-bit shift (the next byte's carries masked).
        Vector128<byte> low = Ssse3.Shuffle(v, Vector128.Create((byte)4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
        Vector128<byte> tops = Ssse3.Shuffle(v, Vector128.Create(Z, Z, Z, Z, 4, 5, 6, 7, Z, Z, Z, Z, 8, 9, 10, 11));
        Vector128<byte> bits = (low & Vector128.Create((byte)63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0))
            | ((low.AsUInt16() >> 4).AsByte() & Vector128.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15))
            | ((tops.AsUInt16() >> 2).AsByte() & Vector128.Create((byte)0x30));
        Vector256<short> scalesMins = Avx2.ConvertToVector256Int16(bits).AsInt16();
        Vector256<short> minsTwice = Avx512BW.VL.PermuteVar16x16(scalesMins, Vector256.Create((short)8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
        return (scalesMins, minsTwice, HalvesToSingle(Sse41.ConvertToVector128Int32(v.AsUInt16()).AsUInt32()));
    }

    /// <summary>The f16 values in the low 16 bits of each lane as f32, as <see cref="HalfBits.Read(byte*)"/> does (no denormal float operand).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalvesToSingle(Vector128<uint> h)
    {
        Vector128<uint> em = (h & Vector128.Create(0x7FFFu)) << 13;
        Vector128<float> normal = (em + Vector128.Create(112u << 23)).AsSingle();
        Vector128<float> subnormal = (em + Vector128.Create(113u << 23)).AsSingle() - Vector128.Create(6.103515625e-05f);
        Vector128<float> magnitude = Vector128.ConditionalSelect(Vector128.Equals(h & Vector128.Create(0x7C00u), Vector128<uint>.Zero).AsSingle(), subnormal, normal);
        return (magnitude.AsUInt32() | ((h & Vector128.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <summary>
    /// The 32 bytes at p in both 256-bit halves. (Not Avx512F.BroadcastVector256ToVector512: the .NET 10.0.12 JIT encoded
    /// it with a 128-bit memory operand here, so the upper 16 bytes of each half were wrong; and Vector512.Create(v256)
    /// round-tripped through the stack every iteration.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ushort> Both(byte* p)
    {
        Vector512<ulong> v = Vector256.Load((ulong*)p).ToVector512Unsafe();
        return Avx512F.Shuffle4x128(v, v, 0b01_00_01_00).AsUInt16();
    }

    /// <summary>Word permutation picking scale index s_L for all 8 words of 128-bit lane L.</summary>
    private static Vector512<short> Lanes(short s0, short s1, short s2, short s3)
        => Vector512.Create(Vector256.Create(Vector128.Create(s0), Vector128.Create(s1)), Vector256.Create(Vector128.Create(s2), Vector128.Create(s3)));

    /// <summary>Word permutation picking scale index s_H for all 16 words of 256-bit half H.</summary>
    private static Vector512<short> Halves(short s0, short s1) => Vector512.Create(Vector256.Create(s0), Vector256.Create(s1));
}
