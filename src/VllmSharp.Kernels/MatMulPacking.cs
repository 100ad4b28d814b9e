using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels;

public static unsafe partial class MatMul
{
    /// <summary>
    /// Converts weight rows [nStart, nEnd) × columns [k0, k0 + kc) to f32 in the micro-kernel's layout: strips of
    /// NR output columns, each strip kc rows of NR contiguous floats (element (kk, j) at kk·NR + j). Columns past
    /// nEnd are zero so edge strips can run the same kernel.
    /// </summary>
    private static void PackPanel<TOps, TV, TW>(byte* w, int k, int nStart, int nEnd, int k0, int kc, int nr, float* packed, float* row)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad
    {
        long rowBytes = (long)k * TW.ElementSize;
        int strips = (nEnd - nStart + nr - 1) / nr;
        for (int s = 0; s < strips; s++)
        {
            float* dst = packed + (long)s * kc * nr;
            int first = 0;
            // Full groups of 16 (AVX-512) or 8 (AVX2) rows go through an in-register transpose, about 20× faster than
            // the scalar scatter below, which made packing cost more than the whole product for m ≲ 32.
            int group = typeof(TV) == typeof(Vector512<float>) ? 16 : typeof(TV) == typeof(Vector256<float>) ? 8 : 0;
            if (group > 0)
            {
                int kcVec = kc / group * group;
                for (; first + group <= nr && nStart + s * nr + first + group <= nEnd; first += group)
                {
                    byte* src = w + (nStart + s * nr + first) * rowBytes + (long)k0 * TW.ElementSize;
                    for (int kk = 0; kk < kcVec; kk += group)
                    {
                        if (group == 16) Transpose16x16<TW>(src + (long)kk * TW.ElementSize, rowBytes, dst + (long)kk * nr + first, nr);
                        else Transpose8x8<TW>(src + (long)kk * TW.ElementSize, rowBytes, dst + (long)kk * nr + first, nr);
                    }
                    for (int kk = kcVec; kk < kc; kk++)
                        for (int j = 0; j < group; j++)
                            dst[(long)kk * nr + first + j] = TW.LoadScalar(src + j * rowBytes + (long)kk * TW.ElementSize);
                }
            }
            for (int j = first; j < nr; j++)
            {
                int r = nStart + s * nr + j;
                if (r >= nEnd)
                {
                    for (int kk = 0; kk < kc; kk++) dst[(long)kk * nr + j] = 0f;
                    continue;
                }
                // Convert the contiguous row piece with vector loads first, then scatter it down column j.
                ConvertRow<TOps, TV, TW>(w + r * rowBytes + (long)k0 * TW.ElementSize, kc, row);
                for (int kk = 0; kk < kc; kk++) dst[(long)kk * nr + j] = row[kk];
            }
        }
    }

    /// <summary>
    /// Loads 16 k-values from each of 16 consecutive weight rows (row stride <paramref name="rowBytes"/>) and stores
    /// them transposed: dst[t·ldd + i] = row i, element t. Unpack 32-bit, unpack 64-bit, then two 128-bit lane
    /// shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16x16<TW>(byte* src, long rowBytes, float* dst, int ldd) where TW : struct, IWeightLoad
    {
        Vector512<float> r0 = TW.Load<Ops512, Vector512<float>>(src), r1 = TW.Load<Ops512, Vector512<float>>(src + rowBytes);
        Vector512<float> r2 = TW.Load<Ops512, Vector512<float>>(src + 2 * rowBytes), r3 = TW.Load<Ops512, Vector512<float>>(src + 3 * rowBytes);
        Vector512<float> r4 = TW.Load<Ops512, Vector512<float>>(src + 4 * rowBytes), r5 = TW.Load<Ops512, Vector512<float>>(src + 5 * rowBytes);
        Vector512<float> r6 = TW.Load<Ops512, Vector512<float>>(src + 6 * rowBytes), r7 = TW.Load<Ops512, Vector512<float>>(src + 7 * rowBytes);
        Vector512<float> r8 = TW.Load<Ops512, Vector512<float>>(src + 8 * rowBytes), r9 = TW.Load<Ops512, Vector512<float>>(src + 9 * rowBytes);
        Vector512<float> r10 = TW.Load<Ops512, Vector512<float>>(src + 10 * rowBytes), r11 = TW.Load<Ops512, Vector512<float>>(src + 11 * rowBytes);
        Vector512<float> r12 = TW.Load<Ops512, Vector512<float>>(src + 12 * rowBytes), r13 = TW.Load<Ops512, Vector512<float>>(src + 13 * rowBytes);
        Vector512<float> r14 = TW.Load<Ops512, Vector512<float>>(src + 14 * rowBytes), r15 = TW.Load<Ops512, Vector512<float>>(src + 15 * rowBytes);

        // Stage 1: per 128-bit lane L, a(2p) = [r2p[4L], r2p+1[4L], r2p[4L+1], r2p+1[4L+1]], a(2p+1) the same for 4L+2, 4L+3.
        Vector512<double> a0 = Avx512F.UnpackLow(r0, r1).AsDouble(), a1 = Avx512F.UnpackHigh(r0, r1).AsDouble();
        Vector512<double> a2 = Avx512F.UnpackLow(r2, r3).AsDouble(), a3 = Avx512F.UnpackHigh(r2, r3).AsDouble();
        Vector512<double> a4 = Avx512F.UnpackLow(r4, r5).AsDouble(), a5 = Avx512F.UnpackHigh(r4, r5).AsDouble();
        Vector512<double> a6 = Avx512F.UnpackLow(r6, r7).AsDouble(), a7 = Avx512F.UnpackHigh(r6, r7).AsDouble();
        Vector512<double> a8 = Avx512F.UnpackLow(r8, r9).AsDouble(), a9 = Avx512F.UnpackHigh(r8, r9).AsDouble();
        Vector512<double> a10 = Avx512F.UnpackLow(r10, r11).AsDouble(), a11 = Avx512F.UnpackHigh(r10, r11).AsDouble();
        Vector512<double> a12 = Avx512F.UnpackLow(r12, r13).AsDouble(), a13 = Avx512F.UnpackHigh(r12, r13).AsDouble();
        Vector512<double> a14 = Avx512F.UnpackLow(r14, r15).AsDouble(), a15 = Avx512F.UnpackHigh(r14, r15).AsDouble();

        // Stage 2: b(4g+e) lane L = rows 4g..4g+3 at element 4L+e.
        Vector512<float> b0 = Avx512F.UnpackLow(a0, a2).AsSingle(), b1 = Avx512F.UnpackHigh(a0, a2).AsSingle();
        Vector512<float> b2 = Avx512F.UnpackLow(a1, a3).AsSingle(), b3 = Avx512F.UnpackHigh(a1, a3).AsSingle();
        Vector512<float> b4 = Avx512F.UnpackLow(a4, a6).AsSingle(), b5 = Avx512F.UnpackHigh(a4, a6).AsSingle();
        Vector512<float> b6 = Avx512F.UnpackLow(a5, a7).AsSingle(), b7 = Avx512F.UnpackHigh(a5, a7).AsSingle();
        Vector512<float> b8 = Avx512F.UnpackLow(a8, a10).AsSingle(), b9 = Avx512F.UnpackHigh(a8, a10).AsSingle();
        Vector512<float> b10 = Avx512F.UnpackLow(a9, a11).AsSingle(), b11 = Avx512F.UnpackHigh(a9, a11).AsSingle();
        Vector512<float> b12 = Avx512F.UnpackLow(a12, a14).AsSingle(), b13 = Avx512F.UnpackHigh(a12, a14).AsSingle();
        Vector512<float> b14 = Avx512F.UnpackLow(a13, a15).AsSingle(), b15 = Avx512F.UnpackHigh(a13, a15).AsSingle();

        StoreTransposedColumn(b0, b4, b8, b12, dst, ldd);           // elements 0, 4, 8, 12
        StoreTransposedColumn(b1, b5, b9, b13, dst + ldd, ldd);     // elements 1, 5, 9, 13
        StoreTransposedColumn(b2, b6, b10, b14, dst + 2 * ldd, ldd); // elements 2, 6, 10, 14
        StoreTransposedColumn(b3, b7, b11, b15, dst + 3 * ldd, ldd); // elements 3, 7, 11, 15
    }

    /// <summary>Stages 3-4 for one e: gathers lane L of b(e), b(4+e), b(8+e), b(12+e) into output row 4L+e.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTransposedColumn(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float> g3, float* dst, int ldd)
    {
        Vector512<float> lo01 = Avx512F.Shuffle4x128(g0, g1, 0x44); // [g0.L0, g0.L1, g1.L0, g1.L1]
        Vector512<float> hi01 = Avx512F.Shuffle4x128(g0, g1, 0xEE); // [g0.L2, g0.L3, g1.L2, g1.L3]
        Vector512<float> lo23 = Avx512F.Shuffle4x128(g2, g3, 0x44);
        Vector512<float> hi23 = Avx512F.Shuffle4x128(g2, g3, 0xEE);
        Avx512F.Shuffle4x128(lo01, lo23, 0x88).Store(dst);            // lane 0 of each: output row e
        Avx512F.Shuffle4x128(lo01, lo23, 0xDD).Store(dst + 4 * ldd);  // lane 1: row 4 + e
        Avx512F.Shuffle4x128(hi01, hi23, 0x88).Store(dst + 8 * ldd);  // lane 2: row 8 + e
        Avx512F.Shuffle4x128(hi01, hi23, 0xDD).Store(dst + 12 * ldd); // lane 3: row 12 + e
    }

    /// <summary>AVX2 twin of <see cref="Transpose16x16"/>: 8 rows × 8 k-values, then dst[t·ldd + i] = row i, element t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8<TW>(byte* src, long rowBytes, float* dst, int ldd) where TW : struct, IWeightLoad
    {
        Vector256<float> r0 = TW.Load<Ops256, Vector256<float>>(src), r1 = TW.Load<Ops256, Vector256<float>>(src + rowBytes);
        Vector256<float> r2 = TW.Load<Ops256, Vector256<float>>(src + 2 * rowBytes), r3 = TW.Load<Ops256, Vector256<float>>(src + 3 * rowBytes);
        Vector256<float> r4 = TW.Load<Ops256, Vector256<float>>(src + 4 * rowBytes), r5 = TW.Load<Ops256, Vector256<float>>(src + 5 * rowBytes);
        Vector256<float> r6 = TW.Load<Ops256, Vector256<float>>(src + 6 * rowBytes), r7 = TW.Load<Ops256, Vector256<float>>(src + 7 * rowBytes);

        Vector256<double> t0 = Avx.UnpackLow(r0, r1).AsDouble(), t1 = Avx.UnpackHigh(r0, r1).AsDouble();
        Vector256<double> t2 = Avx.UnpackLow(r2, r3).AsDouble(), t3 = Avx.UnpackHigh(r2, r3).AsDouble();
        Vector256<double> t4 = Avx.UnpackLow(r4, r5).AsDouble(), t5 = Avx.UnpackHigh(r4, r5).AsDouble();
        Vector256<double> t6 = Avx.UnpackLow(r6, r7).AsDouble(), t7 = Avx.UnpackHigh(r6, r7).AsDouble();

        // u(4g+e) lane L = rows 4g..4g+3 at element 4L+e.
        Vector256<float> u0 = Avx.UnpackLow(t0, t2).AsSingle(), u1 = Avx.UnpackHigh(t0, t2).AsSingle();
        Vector256<float> u2 = Avx.UnpackLow(t1, t3).AsSingle(), u3 = Avx.UnpackHigh(t1, t3).AsSingle();
        Vector256<float> u4 = Avx.UnpackLow(t4, t6).AsSingle(), u5 = Avx.UnpackHigh(t4, t6).AsSingle();
        Vector256<float> u6 = Avx.UnpackLow(t5, t7).AsSingle(), u7 = Avx.UnpackHigh(t5, t7).AsSingle();

        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + ldd);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * ldd);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * ldd);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * ldd);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * ldd);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * ldd);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * ldd);
    }

    /// <summary>dst[0..count) = src[0..count) converted to f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ConvertRow<TOps, TV, TW>(byte* src, int count, float* dst)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad
    {
        int step = TOps.Count;
        int es = TW.ElementSize;
        int i = 0;
        for (; i <= count - step; i += step) TOps.Store(dst + i, TW.Load<TOps, TV>(src + (long)i * es));
        for (; i < count; i++) dst[i] = TW.LoadScalar(src + (long)i * es);
    }

    /// <summary>
    /// Per-thread GEMM buffers, allocated once per thread (grown if a larger panel is ever needed) and pinned so the
    /// kernels can hold raw pointers; nothing is allocated per call in steady state.
    /// </summary>
    private readonly struct GemmScratch(float* packed, float* tile, float* row)
    {
        [ThreadStatic] private static float[]? t_buffer;
        [ThreadStatic] private static int t_packedFloats, t_rowFloats, t_tileFloats;

        public float* Packed { get; } = packed;
        public float* Tile { get; } = tile;
        public float* Row { get; } = row;

        public static GemmScratch ForCurrentThread(int panelColumns, int kc, int nr)
        {
            int packedFloats = panelColumns * kc, tileFloats = MicroRows * nr;
            if (t_buffer is null || packedFloats > t_packedFloats || kc > t_rowFloats || tileFloats > t_tileFloats)
            {
                t_packedFloats = Math.Max(packedFloats, t_packedFloats);
                t_rowFloats = Math.Max(kc, t_rowFloats);
                t_tileFloats = Math.Max(tileFloats, t_tileFloats);
                // +16 floats of slack to start on a 64-byte boundary (pinned arrays are only 8-byte aligned).
                t_buffer = GC.AllocateUninitializedArray<float>(t_packedFloats + t_rowFloats + t_tileFloats + 16, pinned: true);
            }
            float* start = (float*)Unsafe.AsPointer(ref t_buffer[0]);
            start = (float*)(((nint)start + 63) & ~(nint)63);
            return new GemmScratch(start, start + t_packedFloats + t_rowFloats, start + t_packedFloats);
        }
    }
}
