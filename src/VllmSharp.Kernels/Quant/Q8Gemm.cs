using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// Q8_0 weights × 8-bit activations for batches (decode of several sequences, prefill chunks) with AVX-VNNI, weights
/// read in place. The row-by-row kernels (<see cref="QuantDotVnni"/>) spend about one horizontal-reduction op per
/// VPDPBUSD; here each int32 lane is one activation row instead (<see cref="Q8GemmActivations"/> layout), so a 4-byte
/// slice of a weight row, broadcast to all lanes and made unsigned by flipping its sign bits (+128), feeds 8 activation
/// rows per VPDPBUSD and nothing is reduced across lanes. The +128 is removed exactly by each lane's start value,
/// −128·(the activation block's code sum). A tile is 4 weight rows × 16 activation rows: per 4 k-values, 2 activation
/// loads, 4 broadcast-xors and 8 VPDPBUSD into 8 int32 accumulators; per 32-value block one FMA per accumulator
/// applies (weight scale × activation scale).
/// <para>
/// Batch invariance: every (weight row, activation row) output is computed exactly as the row-by-row kernels do it:
/// the same exact integer block sums, f32 partials per block class b mod 8 accumulated by FMA in block order, then
/// <see cref="QuantDotVnni.SumLanes"/>'s fixed tree. So a row's result is bitwise the same whatever m is and
/// whichever kernel ran it.
/// </para>
/// <para>
/// Measured alternatives that were slower here (bench/results/q8-gemm.md): unsigned activations with the weights as
/// the broadcast signed operand (needs per-tile weight code sums); 6 weight rows with f32 partials in L1 and blocks in
/// storage order (the VEX-encoded VPDPBUSD reaches only ymm0–15, so 12 int32 accumulators leave no room for f32
/// ones); a pre-flipped 32-byte-block copy of each tile's codes.
/// </para>
/// </summary>
internal static unsafe class Q8Gemm
{
    /// <summary>Benchmark switch: false routes Q8_0 back to the previous kernels (row-by-row VNNI, f32 GEMM for prefill).</summary>
    internal static bool Enabled = true;

    /// <summary>Weight rows per tile.</summary>
    private const int TileRows = 4;

    /// <summary>Whether this machine runs the kernel (it needs AVX-VNNI; other tiers keep the row-by-row kernels).</summary>
    public static bool IsSupported => AvxVnni.IsSupported && Vector256.IsHardwareAccelerated;

    /// <summary>Per-thread f32 block scales of the current weight tile (pinned: read through a pointer).</summary>
    [ThreadStatic] private static float[]? t_scales;

    /// <summary>y[i·ldy + r] = x̂[i, :] · W[r, :] for weight rows [r0, r1) (Q8_0, rowBytes apart) and all act.M rows.</summary>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowRange(byte* weights, long rowBytes, int r0, int r1, in Q8GemmActivations act, float* y, int ldy)
    {
        // Per tile: 8 classes × 4 weight rows × 2 groups × 8 lanes of f32 partials.
        float* partial = stackalloc float[8 * TileRows * 2 * 8];
        int groups = act.Groups, blocks = act.Blocks32;
        if (t_scales is null || t_scales.Length < TileRows * blocks) t_scales = GC.AllocateUninitializedArray<float>(Math.Max(TileRows * blocks, 1024), pinned: true);
        float* ws = (float*)Unsafe.AsPointer(ref t_scales[0]);
        // Large batches go through the activations a block of groups at a time, so that block stays in L2 while
        // every weight tile of the range passes over it (at m = 512, k = 4864 all codes are 2.5 MB).
        for (int g0 = 0; g0 < groups; g0 += GroupBlock)
        {
            int g1 = Math.Min(groups, g0 + GroupBlock);
            for (int r = r0; r < r1; r += TileRows)
                TileRow(weights, rowBytes, r, r1, act, g0, g1, ws, partial, y, ldy);
        }
    }

    /// <summary>Activation groups per pass over the weight rows (64 rows: 57 KB of codes at k = 896, 311 KB at 4864).</summary>
    private const int GroupBlock = 8;

    /// <summary>Weight rows [r, r + 4) (fewer at r1) against activation groups [g0, g1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TileRow(byte* weights, long rowBytes, int r, int r1, in Q8GemmActivations act, int g0, int g1, float* ws, float* partial, float* y, int ldy)
    {
        int blocks = act.Blocks32, rows = Math.Min(TileRows, r1 - r);
        // A short last tile repeats its first row in the missing slots; those results are not stored.
        byte* w0 = weights + r * rowBytes;
        byte* w1 = rows > 1 ? w0 + rowBytes : w0, w2 = rows > 2 ? w0 + 2 * rowBytes : w0, w3 = rows > 3 ? w0 + 3 * rowBytes : w0;
        Scales(w0, blocks, ws);
        Scales(w1, blocks, ws + blocks);
        Scales(w2, blocks, ws + 2 * blocks);
        Scales(w3, blocks, ws + 3 * blocks);
        // The blocks are read class by class (stride 8 blocks), which the hardware prefetchers do not follow from
        // DRAM (lm_head, 136 MB, ran at half speed): fetch the next tile's rows while this one computes.
        if (r + 2 * TileRows <= r1 && Sse.IsSupported)
        {
            byte* next = w0 + TileRows * rowBytes;
            for (long o = 0; o < TileRows * rowBytes; o += 64) Sse.Prefetch0(next + o);
        }
        for (int g = g0; g < g1; g += 2)
        {
            int pair = Math.Min(2, g1 - g);
            if (pair == 2) Tile<MatMul.Rows2>(w0, w1, w2, w3, ws, act, g, partial);
            else Tile<MatMul.Rows1>(w0, w1, w2, w3, ws, act, g, partial);
            Store(partial, pair, rows, Math.Min(8 * pair, act.M - 8 * g), y + (long)(8 * g) * ldy + r, ldy);
        }
    }

    /// <summary>
    /// Sums each (weight row, group) lane vector's 8 class partials with the <see cref="QuantDotVnni.SumLanes"/> tree
    /// and writes the valid activation rows' results.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Store(float* partial, int pair, int rows, int validRows, float* y, int ldy)
    {
        const int classStride = TileRows * 2 * 8;
        float* lanes = stackalloc float[8];
        for (int t = 0; t < rows; t++)
            for (int v = 0; v < pair; v++)
            {
                float* p = partial + (t * 2 + v) * 8;
                Vector256<float> t0 = Vector256.Load(p) + Vector256.Load(p + 4 * classStride);
                Vector256<float> t1 = Vector256.Load(p + classStride) + Vector256.Load(p + 5 * classStride);
                Vector256<float> t2 = Vector256.Load(p + 2 * classStride) + Vector256.Load(p + 6 * classStride);
                Vector256<float> t3 = Vector256.Load(p + 3 * classStride) + Vector256.Load(p + 7 * classStride);
                ((t0 + t2) + (t1 + t3)).Store(lanes);
                int n = Math.Min(8, validRows - 8 * v);
                for (int l = 0; l < n; l++) y[(long)(8 * v + l) * ldy + t] = lanes[l];
            }
    }

    /// <summary>
    /// 4 weight rows × TG (1 or 2) activation groups: partial[(class·4 + weight row)·2 + group] gets the 8 rows'
    /// f32 partials of block class b mod 8, each accumulated over that class's blocks in order. ws holds the 4 rows'
    /// block scales as f32 (row t at t·blocks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TG>(byte* w0, byte* w1, byte* w2, byte* w3, float* ws, in Q8GemmActivations act, int g, float* partial)
        where TG : struct, MatMul.IRowCount
    {
        int blocks = act.Blocks32;
        Vector256<byte> flip = Vector256.Create((byte)0x80);
        float* ws0 = ws, ws1 = ws + blocks, ws2 = ws + 2 * blocks, ws3 = ws + 3 * blocks;
        sbyte* codes0 = act.BlockCodes(g, 0), codes1 = TG.Value > 1 ? act.BlockCodes(g + 1, 0) : codes0;
        int* off0 = act.Offsets + act.BlockIndex(g, 0), off1 = TG.Value > 1 ? act.Offsets + act.BlockIndex(g + 1, 0) : off0;
        float* sc0 = act.Scales + act.BlockIndex(g, 0), sc1 = TG.Value > 1 ? act.Scales + act.BlockIndex(g + 1, 0) : sc0;
        for (int j = 0; j < 8; j++)
        {
            Vector256<float> f00 = default, f01 = default, f10 = default, f11 = default;
            Vector256<float> f20 = default, f21 = default, f30 = default, f31 = default;
            for (int b = j; b < blocks; b += 8)
            {
                sbyte* a0 = codes0 + 256L * b, a1 = codes1 + 256L * b;
                Vector256<int> o0 = Vector256.Load(off0 + 8L * b), o1 = TG.Value > 1 ? Vector256.Load(off1 + 8L * b) : o0;
                Vector256<int> i00 = o0, i01 = o1, i10 = o0, i11 = o1, i20 = o0, i21 = o1, i30 = o0, i31 = o1;
                long wo = 34L * b + 2;
                byte* p0 = w0 + wo, p1 = w1 + wo, p2 = w2 + wo, p3 = w3 + wo;
                Vector256<sbyte> x0, x1 = default;
                Vector256<byte> c;
                // Eight k-steps of 4 values, unrolled (a loop counter cost as much as the broadcasts).
                x0 = Vector256.Load(a0 + 0);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 0);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 0)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 0)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 0)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 0)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                x0 = Vector256.Load(a0 + 32);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 32);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 4)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 4)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 4)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 4)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                x0 = Vector256.Load(a0 + 64);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 64);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 8)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 8)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 8)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 8)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                x0 = Vector256.Load(a0 + 96);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 96);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 12)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 12)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 12)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 12)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                x0 = Vector256.Load(a0 + 128);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 128);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 16)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 16)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 16)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 16)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                x0 = Vector256.Load(a0 + 160);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 160);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 20)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 20)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 20)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 20)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                x0 = Vector256.Load(a0 + 192);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 192);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 24)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 24)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 24)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 24)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                x0 = Vector256.Load(a0 + 224);
                if (TG.Value > 1) x1 = Vector256.Load(a1 + 224);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p0 + 28)).AsByte() ^ flip;
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, c, x0);
                if (TG.Value > 1) i01 = AvxVnni.MultiplyWideningAndAdd(i01, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p1 + 28)).AsByte() ^ flip;
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, c, x0);
                if (TG.Value > 1) i11 = AvxVnni.MultiplyWideningAndAdd(i11, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p2 + 28)).AsByte() ^ flip;
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, c, x0);
                if (TG.Value > 1) i21 = AvxVnni.MultiplyWideningAndAdd(i21, c, x1);
                c = Vector256.Create(Unsafe.ReadUnaligned<int>(p3 + 28)).AsByte() ^ flip;
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, c, x0);
                if (TG.Value > 1) i31 = AvxVnni.MultiplyWideningAndAdd(i31, c, x1);
                Vector256<float> s0 = Vector256.Load(sc0 + 8L * b), s1 = TG.Value > 1 ? Vector256.Load(sc1 + 8L * b) : s0;
                Vector256<float> d = Vector256.Create(ws0[b]);
                f00 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i00), d * s0, f00);
                if (TG.Value > 1) f01 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i01), d * s1, f01);
                d = Vector256.Create(ws1[b]);
                f10 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i10), d * s0, f10);
                if (TG.Value > 1) f11 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i11), d * s1, f11);
                d = Vector256.Create(ws2[b]);
                f20 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i20), d * s0, f20);
                if (TG.Value > 1) f21 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i21), d * s1, f21);
                d = Vector256.Create(ws3[b]);
                f30 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i30), d * s0, f30);
                if (TG.Value > 1) f31 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i31), d * s1, f31);
            }
            float* p = partial + j * (TileRows * 2 * 8);
            f00.Store(p); f01.Store(p + 8);
            f10.Store(p + 16); f11.Store(p + 24);
            f20.Store(p + 32); f21.Store(p + 40);
            f30.Store(p + 48); f31.Store(p + 56);
        }
    }

    /// <summary>
    /// One weight row's f16 block scales as f32 (bitwise <see cref="HalfBits.Read(byte*)"/>, eight per gather),
    /// decoded once per weight tile instead of once per tile and activation group.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scales(byte* w, int blocks, float* ws)
    {
        Vector256<int> offsets = Vector256.Create(0, 34, 68, 102, 136, 170, 204, 238);
        int b = 0;
        for (; b + 8 <= blocks; b += 8)
            QuantDotVnni.HalfToSingle(Avx2.GatherVector256((int*)(w + 34L * b), offsets, 1)).Store(ws + b);
        for (; b < blocks; b++) ws[b] = HalfBits.Read(w + 34L * b);
    }
}
