using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// AVX-VNNI decode kernels for Q8_0, Q4_0 and Q5_0 that spend as few instructions per weight byte as possible, so a
/// GEMV streams at DRAM speed instead of being bound by per-block bookkeeping:
/// <list type="bullet">
/// <item>Weights are made unsigned for VPDPBUSD (Q8_0: flip the sign bit, i.e. +128; Q4_0/Q5_0: the raw codes, i.e.
/// +8/+16) and the offset is removed exactly in int32 afterwards with the activation block's integer code sum.</item>
/// <item>Eight blocks are handled together: their 8-lane int32 dots are reduced to one vector of 8 block sums, the
/// 8 f16 weight scales are gathered and converted in one go, and one FMA applies all 16 scales. A row's last
/// 1–7 blocks form one masked group (masked gather and loads: no weight byte past the row is read).</item>
/// <item>Q4_0/Q5_0 put two blocks in one register (their 16 nibble bytes side by side) against activations in a
/// matching pair layout, halving the dot and reduction work; up to 4 activation rows share each decoded block.</item>
/// </list>
/// Results equal the per-block kernels' up to f32 summation order.
/// </summary>
internal static unsafe class QuantDotVnni
{
    public static float Q8_0(byte* w, sbyte* qx, float* dx, int* blockSums, int blocks32) => Dot<Q8Block>(w, qx, dx, blockSums, blocks32);

    public static float Q4_0(byte* w, sbyte* qx, float* dx, int* blockSums, int blocks32) => Dot<Q4Block>(w, qx, dx, blockSums, blocks32);

    public static float Q5_0(byte* w, sbyte* qx, float* dx, int* blockSums, int blocks32) => Dot<Q5Block>(w, qx, dx, blockSums, blocks32);

    /// <summary>A 32-value block whose f16 scale comes first, with its codes as unsigned bytes offset by 2^OffsetShift.</summary>
    private interface IBlock
    {
        static abstract int Bytes { get; }
        static abstract int OffsetShift { get; }
        static abstract Vector256<byte> Codes(byte* block);

        /// <summary>Whether <see cref="PairCodes"/> is implemented (nibble formats: two blocks per register).</summary>
        static abstract bool Paired { get; }

        /// <summary>Blocks b and b+1 side by side: (elements 0–15 of both, elements 16–31 of both).</summary>
        static abstract (Vector256<byte> Low, Vector256<byte> High) PairCodes(byte* block);
    }

    private readonly struct Q8Block : IBlock
    {
        public static int Bytes => 34;
        public static int OffsetShift => 7;
        public static bool Paired => false;
        public static (Vector256<byte> Low, Vector256<byte> High) PairCodes(byte* block) => throw new NotSupportedException();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Codes(byte* block) => Vector256.Load(block + 2) ^ Vector256.Create((byte)0x80);
    }

    private readonly struct Q5Block : IBlock
    {
        public static int Bytes => 22;
        public static int OffsetShift => 4;
        public static bool Paired => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<byte> Low, Vector256<byte> High) PairCodes(byte* block)
        {
            (Vector256<byte> low, Vector256<byte> high) = NibblePairs(block + 6, block + 28);
            // Half h of the spread holds block h's qh word; in-lane shuffles pick bits 0–15 / 16–31 per element.
            Vector256<byte> qh = Vector256.Create(Vector128.Create(Unsafe.ReadUnaligned<uint>(block + 2)), Vector128.Create(Unsafe.ReadUnaligned<uint>(block + 24))).AsByte();
            Vector256<byte> bit = Vector256.Create(0x8040201008040201UL).AsByte(), fifth = Vector256.Create((byte)0x10);
            Vector256<byte> first = Avx2.Shuffle(qh, Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
            Vector256<byte> second = Avx2.Shuffle(qh, Vector256.Create((byte)2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
            return (low | (Vector256.Equals(first & bit, bit) & fifth), high | (Vector256.Equals(second & bit, bit) & fifth));
        }

        /// <summary>The 32 five-bit codes: Q4_0-style nibbles at +6 with the fifth bits from qh (+2) added as 0x10.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Codes(byte* block)
        {
            Vector256<byte> both = Vector256.Create(Vector128.Load(block + 6));
            Vector256<int> shifted = Vector256.ShiftRightLogical(both.AsUInt16(), 4).AsInt32();
            Vector256<byte> nibbles = Avx2.Blend(both.AsInt32(), shifted, 0xF0).AsByte() & Vector256.Create((byte)0x0F);
            // Byte j of the 32 takes qh byte j/8 (in-lane shuffle of the broadcast word), then its bit j mod 8.
            Vector256<byte> qh = Vector256.Create(Unsafe.ReadUnaligned<uint>(block + 2)).AsByte();
            Vector256<byte> spread = Avx2.Shuffle(qh, Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
            Vector256<byte> bit = Vector256.Create(0x8040201008040201UL).AsByte();
            return nibbles | (Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10));
        }
    }

    private readonly struct Q4Block : IBlock
    {
        public static int Bytes => 18;
        public static int OffsetShift => 3;
        public static bool Paired => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<byte> Low, Vector256<byte> High) PairCodes(byte* block) => NibblePairs(block + 2, block + 20);

        /// <summary>The 32 nibbles in element order (low nibbles are elements 0–15).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Codes(byte* block)
        {
            // Both halves hold the 16 packed bytes; the upper half takes the 16-bit-shifted copy (a dword blend),
            // then one mask keeps the nibbles: 4 instructions, where split/shift/insert took 6.
            Vector256<byte> both = Vector256.Create(Vector128.Load(block + 2));
            Vector256<int> shifted = Vector256.ShiftRightLogical(both.AsUInt16(), 4).AsInt32();
            return Avx2.Blend(both.AsInt32(), shifted, 0xF0).AsByte() & Vector256.Create((byte)0x0F);
        }
    }

    /// <summary>
    /// One weight row against TM (1–4) activation rows (row i at qx + i·cols, dx/blockSums + i·blocks32): each block's
    /// codes and each group's scales are decoded once and used for every row. A row's result is bitwise the same
    /// whatever TM is (same operations in the same order per row).
    /// </summary>
    /// <param name="pairOffset">Q4_0: distance from a row's plain codes to its <see cref="BuildQ4Pairs"/> layout.</param>
    public static void Rows<TM>(QuantType type, byte* w, sbyte* qx, float* dx, int* blockSums, int blocks32, float* result, long pairOffset)
        where TM : struct, MatMul.IRowCount
    {
        if (type == QuantType.Q8_0) Rows<Q8Block, TM>(w, qx, dx, blockSums, blocks32, result, 0);
        else if (type == QuantType.Q5_0) Rows<Q5Block, TM>(w, qx, dx, blockSums, blocks32, result, pairOffset);
        else Rows<Q4Block, TM>(w, qx, dx, blockSums, blocks32, result, pairOffset);
    }

    /// <summary>
    /// Writes the Q4_0 pair layout of m rows of codes (row i at qx + i·cols) to pairs (same strides): for every
    /// full group of 8 blocks, each block pair (b, b+1) becomes [a_b[0..16), a_b+1[0..16), a_b[16..32), a_b+1[16..32)],
    /// matching the low and high nibbles of the two blocks' 16 packed bytes placed side by side. Blocks of the last,
    /// partial group are not written (the kernel reads those from the plain layout).
    /// </summary>
    public static void BuildQ4Pairs(sbyte* qx, int m, int cols, sbyte* pairs)
    {
        int full = cols / 256 * 256;
        for (int i = 0; i < m; i++)
        {
            sbyte* src = qx + (long)i * cols, dst = pairs + (long)i * cols;
            for (int c = 0; c < full; c += 64)
            {
                Vector128.Load(src + c).Store(dst + c);
                Vector128.Load(src + c + 32).Store(dst + c + 16);
                Vector128.Load(src + c + 16).Store(dst + c + 32);
                Vector128.Load(src + c + 48).Store(dst + c + 48);
            }
        }
    }

    /// <summary>
    /// Q4_0/Q5_0 full groups with two blocks per VPDPBUSD pair (the nibbles of two blocks fill one 256-bit register;
    /// activations come from the pair layout): half the dot and reduction instructions of the one-block-per-register
    /// form. Integer sums are exact either way, so the result is bitwise that of <see cref="Rows{TB, TM}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PairRow<TB>(Vector256<byte> lo0, Vector256<byte> hi0, Vector256<byte> lo1, Vector256<byte> hi1,
        Vector256<byte> lo2, Vector256<byte> hi2, Vector256<byte> lo3, Vector256<byte> hi3,
        sbyte* a, float* dx, int* blockSums, Vector256<float> scales, Vector256<float> acc) where TB : struct, IBlock
    {
        Vector256<int> e0 = AvxVnni.MultiplyWideningAndAdd(BlockDot(lo0, a), hi0, Vector256.Load(a + 32));
        Vector256<int> e1 = AvxVnni.MultiplyWideningAndAdd(BlockDot(lo1, a + 64), hi1, Vector256.Load(a + 96));
        Vector256<int> e2 = AvxVnni.MultiplyWideningAndAdd(BlockDot(lo2, a + 128), hi2, Vector256.Load(a + 160));
        Vector256<int> e3 = AvxVnni.MultiplyWideningAndAdd(BlockDot(lo3, a + 192), hi3, Vector256.Load(a + 224));
        // e_p: lanes 0–3 block 2p, lanes 4–7 block 2p+1 → after two pairwise-add rounds [b0 b2 b4 b6 | b1 b3 b5 b7].
        Vector256<int> g = Avx2.HorizontalAdd(Avx2.HorizontalAdd(e0, e1), Avx2.HorizontalAdd(e2, e3));
        Vector256<int> sums = Avx2.PermuteVar8x32(g, Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)) - (Vector256.Load(blockSums) << TB.OffsetShift);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), scales * Vector256.Load(dx), acc);
    }

    /// <summary>The 16 packed nibble bytes of two blocks side by side, split into low and high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> Low, Vector256<byte> High) NibblePairs(byte* first, byte* second)
    {
        Vector256<byte> both = Vector256.Create(Vector128.Load(first), Vector128.Load(second)), low4 = Vector256.Create((byte)0x0F);
        return (both & low4, Vector256.ShiftRightLogical(both.AsUInt16(), 4).AsByte() & low4);
    }

    private static void Rows<TB, TM>(byte* w, sbyte* qx, float* dx, int* blockSums, int blocks32, float* result, long pairOffset)
        where TB : struct, IBlock where TM : struct, MatMul.IRowCount
    {
        int n = TB.Bytes, cols = 32 * blocks32;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero, acc2 = Vector256<float>.Zero, acc3 = Vector256<float>.Zero;
        Vector256<int> lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), offsets = lane * n, zero = Vector256<int>.Zero;
        int b = 0;
        if (TB.Paired)
        {
            sbyte* pairs = qx + pairOffset;
            for (; b + 8 <= blocks32; b += 8, w += 8 * n)
            {
                StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(8 * n));
                (Vector256<byte> lo0, Vector256<byte> hi0) = TB.PairCodes(w);
                (Vector256<byte> lo1, Vector256<byte> hi1) = TB.PairCodes(w + 2 * n);
                (Vector256<byte> lo2, Vector256<byte> hi2) = TB.PairCodes(w + 4 * n);
                (Vector256<byte> lo3, Vector256<byte> hi3) = TB.PairCodes(w + 6 * n);
                Vector256<float> scales = HalfToSingle(Avx2.GatherVector256((int*)w, offsets, 1));
                acc0 = PairRow<TB>(lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, pairs + 32 * b, dx + b, blockSums + b, scales, acc0);
                if (TM.Value > 1) acc1 = PairRow<TB>(lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, pairs + cols + 32 * b, dx + blocks32 + b, blockSums + blocks32 + b, scales, acc1);
                if (TM.Value > 2) acc2 = PairRow<TB>(lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, pairs + 2 * cols + 32 * b, dx + 2 * blocks32 + b, blockSums + 2 * blocks32 + b, scales, acc2);
                if (TM.Value > 3) acc3 = PairRow<TB>(lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, pairs + 3 * cols + 32 * b, dx + 3 * blocks32 + b, blockSums + 3 * blocks32 + b, scales, acc3);
            }
        }
        for (; b < blocks32; b += 8, w += 8 * n)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(8 * n));
            int rest = blocks32 - b;
            // Full groups take the unmasked loads; the last 1–7 blocks a masked group that reads nothing past the row.
            Vector256<int> mask = rest >= 8 ? Vector256<int>.AllBitsSet : Vector256.GreaterThan(Vector256.Create(rest), lane);
            Vector256<byte> c0 = TB.Codes(w);
            Vector256<byte> c1 = rest > 1 ? TB.Codes(w + n) : default, c2 = rest > 2 ? TB.Codes(w + 2 * n) : default;
            Vector256<byte> c3 = rest > 3 ? TB.Codes(w + 3 * n) : default, c4 = rest > 4 ? TB.Codes(w + 4 * n) : default;
            Vector256<byte> c5 = rest > 5 ? TB.Codes(w + 5 * n) : default, c6 = rest > 6 ? TB.Codes(w + 6 * n) : default;
            Vector256<byte> c7 = rest > 7 ? TB.Codes(w + 7 * n) : default;
            Vector256<float> scales = HalfToSingle(rest >= 8 ? Avx2.GatherVector256((int*)w, offsets, 1) : Avx2.GatherMaskVector256(zero, (int*)w, offsets, mask, 1));
            acc0 = Row<TB>(c0, c1, c2, c3, c4, c5, c6, c7, qx + 32 * b, dx + b, blockSums + b, mask, scales, acc0);
            if (TM.Value > 1) acc1 = Row<TB>(c0, c1, c2, c3, c4, c5, c6, c7, qx + cols + 32 * b, dx + blocks32 + b, blockSums + blocks32 + b, mask, scales, acc1);
            if (TM.Value > 2) acc2 = Row<TB>(c0, c1, c2, c3, c4, c5, c6, c7, qx + 2 * cols + 32 * b, dx + 2 * blocks32 + b, blockSums + 2 * blocks32 + b, mask, scales, acc2);
            if (TM.Value > 3) acc3 = Row<TB>(c0, c1, c2, c3, c4, c5, c6, c7, qx + 3 * cols + 32 * b, dx + 3 * blocks32 + b, blockSums + 3 * blocks32 + b, mask, scales, acc3);
        }
        result[0] = SumLanes(acc0);
        if (TM.Value > 1) result[1] = SumLanes(acc1);
        if (TM.Value > 2) result[2] = SumLanes(acc2);
        if (TM.Value > 3) result[3] = SumLanes(acc3);
    }

    /// <summary>One activation row's part of a group: codes of blocks past the row are zero, so their dots are too.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row<TB>(Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2, Vector256<byte> c3,
        Vector256<byte> c4, Vector256<byte> c5, Vector256<byte> c6, Vector256<byte> c7,
        sbyte* a, float* dx, int* blockSums, Vector256<int> mask, Vector256<float> scales, Vector256<float> acc) where TB : struct, IBlock
    {
        // Activation loads past the row's end stay inside the rented activation buffers (≥ 32 bytes per missing
        // block follow unless this is the last row; then the masked lanes' garbage is multiplied by zero codes).
        Vector256<int> sums = Reduce8(BlockDot(c0, a), BlockDot(c1, a + 32), BlockDot(c2, a + 64), BlockDot(c3, a + 96),
            BlockDot(c4, a + 128), BlockDot(c5, a + 160), BlockDot(c6, a + 192), BlockDot(c7, a + 224))
            - (Avx2.MaskLoad(blockSums, mask) << TB.OffsetShift);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), scales * Avx2.MaskLoad(dx, mask.AsSingle()), acc);
    }

    private static float Dot<TB>(byte* w, sbyte* qx, float* dx, int* blockSums, int blocks32) where TB : struct, IBlock
    {
        int n = TB.Bytes;
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<int> lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), offsets = lane * n;
        int b = 0;
        for (; b + 8 <= blocks32; b += 8, w += 8 * n, qx += 256)
        {
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(8 * n));
            Vector256<int> d0 = BlockDot(TB.Codes(w), qx), d1 = BlockDot(TB.Codes(w + n), qx + 32);
            Vector256<int> d2 = BlockDot(TB.Codes(w + 2 * n), qx + 64), d3 = BlockDot(TB.Codes(w + 3 * n), qx + 96);
            Vector256<int> d4 = BlockDot(TB.Codes(w + 4 * n), qx + 128), d5 = BlockDot(TB.Codes(w + 5 * n), qx + 160);
            Vector256<int> d6 = BlockDot(TB.Codes(w + 6 * n), qx + 192), d7 = BlockDot(TB.Codes(w + 7 * n), qx + 224);
            Vector256<int> sums = Reduce8(d0, d1, d2, d3, d4, d5, d6, d7) - (Vector256.Load(blockSums + b) << TB.OffsetShift);
            Vector256<float> scales = HalfToSingle(Avx2.GatherVector256((int*)w, offsets, 1)) * Vector256.Load(dx + b);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), scales, acc);
        }
        int rest = blocks32 - b;
        if (rest > 0)
        {
            Vector256<int> zero = Vector256<int>.Zero;
            StreamPrefetch.Ahead(w, StreamPrefetch.LinesFor(8 * n));
            Vector256<int> d0 = BlockDot(TB.Codes(w), qx);
            Vector256<int> d1 = rest > 1 ? BlockDot(TB.Codes(w + n), qx + 32) : zero;
            Vector256<int> d2 = rest > 2 ? BlockDot(TB.Codes(w + 2 * n), qx + 64) : zero;
            Vector256<int> d3 = rest > 3 ? BlockDot(TB.Codes(w + 3 * n), qx + 96) : zero;
            Vector256<int> d4 = rest > 4 ? BlockDot(TB.Codes(w + 4 * n), qx + 128) : zero;
            Vector256<int> d5 = rest > 5 ? BlockDot(TB.Codes(w + 5 * n), qx + 160) : zero;
            Vector256<int> d6 = rest > 6 ? BlockDot(TB.Codes(w + 6 * n), qx + 192) : zero;
            Vector256<int> mask = Vector256.GreaterThan(Vector256.Create(rest), lane);
            Vector256<int> sums = Reduce8(d0, d1, d2, d3, d4, d5, d6, zero) - (Avx2.MaskLoad(blockSums + b, mask) << TB.OffsetShift);
            // Masked-off lanes gather nothing and load zeros: their scale is +0 and their sums are 0.
            Vector256<float> scales = HalfToSingle(Avx2.GatherMaskVector256(zero, (int*)w, offsets, mask, 1)) * Avx2.MaskLoad(dx + b, mask.AsSingle());
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), scales, acc);
        }
        return SumLanes(acc);
    }

    /// <summary>
    /// The 8 lanes (block classes b mod 8) summed as ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), spelled out
    /// rather than Vector256.Sum (whose order is the JIT's choice) because <see cref="Q8Gemm"/> adds its per-class
    /// partials vertically in this same order: a row's result must not depend on which kernel computed it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float SumLanes(Vector256<float> v)
    {
        Vector128<float> t = v.GetLower() + v.GetUpper();
        Vector128<float> u = t + Vector128.Shuffle(t, Vector128.Create(2, 3, 0, 1));
        return u.ToScalar() + u.GetElement(1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockDot(Vector256<byte> w, sbyte* a) => AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w, Vector256.Load(a));

    /// <summary>Lane j = sum of the 8 lanes of d_j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Reduce8(Vector256<int> d0, Vector256<int> d1, Vector256<int> d2, Vector256<int> d3,
        Vector256<int> d4, Vector256<int> d5, Vector256<int> d6, Vector256<int> d7)
    {
        // Per 128-bit half: after two rounds of pairwise adds, half h of g0 holds d0..d3's sums over that half's lanes.
        Vector256<int> g0 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(d0, d1), Avx2.HorizontalAdd(d2, d3));
        Vector256<int> g1 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(d4, d5), Avx2.HorizontalAdd(d6, d7));
        return Avx2.Permute2x128(g0, g1, 0x20) + Avx2.Permute2x128(g0, g1, 0x31);
    }

    /// <summary>
    /// The f16 values in the low 16 bits of each lane as f32: <see cref="HalfBits.Read(byte*)"/>'s arithmetic in
    /// vector form, so results match the scalar conversion bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToSingle(Vector256<int> gathered)
    {
        Vector256<uint> h = gathered.AsUInt32();
        Vector256<float> magnitude = ((h & Vector256.Create(0x7FFFu)) << 13).AsSingle() * Vector256.Create(5.192296858534828e33f);
        return (magnitude.AsUInt32() | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }
}
