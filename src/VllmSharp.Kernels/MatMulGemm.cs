using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels;

public static unsafe partial class MatMul
{
    /// <summary>Activation rows per micro-kernel call (MR). With NR = 64 (AVX-512) the tile is 6×64.</summary>
    private const int MicroRows = 6;

    /// <summary>k per packed panel (KC): one NR-wide packed strip (KC·NR floats) should stay in L1 across all of m.</summary>
    internal static int GemmKc = 512;

    /// <summary>Output columns (weight rows) per parallel task (NC), a multiple of NR; the packed panel is KC·NC floats.</summary>
    internal static int GemmNc = 128;

    /// <summary>Activation rows per block (MC, a multiple of 6) so the MC×KC slice of x stays in L2.</summary>
    internal static int GemmMc = 240;

    /// <summary>
    /// GEMM path (prefill): y[:, nStart..nEnd) for all m rows. Per KC block of k, the weight rows of this task are
    /// converted to f32 once into a per-thread packed panel; the panel is then reused by every activation row.
    /// <paramref name="quantized"/> names a block-quantized dtype of w (TW is then unused), F32 otherwise.
    /// </summary>
    private static void GemmRange<TOps, TV, TW>(float* x, int m, int k, byte* w, int nStart, int nEnd, float* y, int ldy, DType quantized = DType.F32)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad
    {
        int nr = TOps.StripVectors * TOps.Count;
        int kcMax = GemmKc, mc = GemmMc;
        // Block-quantized weights are dequantized whole blocks at a time: KC must be a multiple of the block size.
        if (quantized != DType.F32) kcMax = Math.Max(1, kcMax / quantized.BlockSize()) * quantized.BlockSize();
        int strips = (nEnd - nStart + nr - 1) / nr;
        GemmScratch scratch = GemmScratch.ForCurrentThread(strips * nr, kcMax, nr);

        for (int k0 = 0; k0 < k; k0 += kcMax)
        {
            int kc = Math.Min(kcMax, k - k0);
            bool accumulate = k0 > 0;
            if (quantized != DType.F32) PackPanelQuantized<TOps, TV>(w, quantized, k, nStart, nEnd, k0, kc, nr, scratch.Packed);
            else PackPanel<TOps, TV, TW>(w, k, nStart, nEnd, k0, kc, nr, scratch.Packed, scratch.Row);
            for (int i0 = 0; i0 < m; i0 += mc)
            {
                int iEnd = Math.Min(m, i0 + mc);
                for (int s = 0; s < strips; s++)
                {
                    int n = nStart + s * nr;
                    int validCols = Math.Min(nr, nEnd - n);
                    float* b = scratch.Packed + (long)s * kc * nr;
                    for (int i = i0; i < iEnd; i += MicroRows)
                    {
                        int validRows = Math.Min(MicroRows, iEnd - i);
                        float* a = x + (long)i * k + k0;
                        float* c = y + (long)i * ldy + n;
                        if (validRows == MicroRows && validCols == nr)
                        {
                            MicroKernel<TOps, TV>(a, k, MicroRows, b, kc, c, ldy, accumulate);
                        }
                        else
                        {
                            // Edge tile: run the full-size kernel on a scratch tile and copy the valid part back.
                            float* tile = scratch.Tile;
                            if (accumulate) CopyTile(c, ldy, tile, nr, validRows, validCols);
                            MicroKernel<TOps, TV>(a, k, validRows, b, kc, tile, nr, accumulate);
                            CopyTile(tile, nr, c, ldy, validRows, validCols);
                        }
                    }
                }
            }
        }
    }

    private static void CopyTile(float* src, int lds, float* dst, int ldd, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(src + (long)r * lds, cols).CopyTo(new Span<float>(dst + (long)r * ldd, cols));
    }

    /// <summary>
    /// C[0..6, 0..NR) (+)= A[0..6, 0..kc) · B where B is a packed strip (kc rows of NR contiguous floats).
    /// 6·StripVectors independent accumulators hide the FMA latency; each k step does StripVectors loads, 6 broadcasts
    /// and 6·StripVectors FMAs. Rows of A past <paramref name="validRows"/> repeat the last valid row (results
    /// land in the caller's scratch tile and are dropped).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel<TOps, TV>(float* a, int lda, int validRows, float* b, int kc, float* c, int ldc, bool accumulate)
        where TOps : struct, IVectorOps<TV> where TV : struct
    {
        int last = validRows - 1;
        float* a0 = a;
        float* a1 = a + (long)Math.Min(1, last) * lda;
        float* a2 = a + (long)Math.Min(2, last) * lda;
        float* a3 = a + (long)Math.Min(3, last) * lda;
        float* a4 = a + (long)Math.Min(4, last) * lda;
        float* a5 = a + (long)Math.Min(5, last) * lda;
        int w = TOps.Count;
        int nr = TOps.StripVectors * w;
        bool wide = TOps.StripVectors > 2;

        TV c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
        TV c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
        TV c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
        TV c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
        TV c40 = TOps.Zero, c41 = TOps.Zero, c42 = TOps.Zero, c43 = TOps.Zero;
        TV c50 = TOps.Zero, c51 = TOps.Zero, c52 = TOps.Zero, c53 = TOps.Zero;

        for (int kk = 0; kk < kc; kk++, b += nr)
        {
            TV b0 = TOps.Load(b), b1 = TOps.Load(b + w);
            TV b2 = wide ? TOps.Load(b + 2 * w) : TOps.Zero, b3 = wide ? TOps.Load(b + 3 * w) : TOps.Zero;
            TV av = TOps.Broadcast(a0[kk]);
            c00 = TOps.Fma(av, b0, c00); c01 = TOps.Fma(av, b1, c01);
            if (wide) { c02 = TOps.Fma(av, b2, c02); c03 = TOps.Fma(av, b3, c03); }
            av = TOps.Broadcast(a1[kk]);
            c10 = TOps.Fma(av, b0, c10); c11 = TOps.Fma(av, b1, c11);
            if (wide) { c12 = TOps.Fma(av, b2, c12); c13 = TOps.Fma(av, b3, c13); }
            av = TOps.Broadcast(a2[kk]);
            c20 = TOps.Fma(av, b0, c20); c21 = TOps.Fma(av, b1, c21);
            if (wide) { c22 = TOps.Fma(av, b2, c22); c23 = TOps.Fma(av, b3, c23); }
            av = TOps.Broadcast(a3[kk]);
            c30 = TOps.Fma(av, b0, c30); c31 = TOps.Fma(av, b1, c31);
            if (wide) { c32 = TOps.Fma(av, b2, c32); c33 = TOps.Fma(av, b3, c33); }
            av = TOps.Broadcast(a4[kk]);
            c40 = TOps.Fma(av, b0, c40); c41 = TOps.Fma(av, b1, c41);
            if (wide) { c42 = TOps.Fma(av, b2, c42); c43 = TOps.Fma(av, b3, c43); }
            av = TOps.Broadcast(a5[kk]);
            c50 = TOps.Fma(av, b0, c50); c51 = TOps.Fma(av, b1, c51);
            if (wide) { c52 = TOps.Fma(av, b2, c52); c53 = TOps.Fma(av, b3, c53); }
        }

        StoreRow<TOps, TV>(c, accumulate, w, wide, c00, c01, c02, c03);
        StoreRow<TOps, TV>(c + ldc, accumulate, w, wide, c10, c11, c12, c13);
        StoreRow<TOps, TV>(c + 2L * ldc, accumulate, w, wide, c20, c21, c22, c23);
        StoreRow<TOps, TV>(c + 3L * ldc, accumulate, w, wide, c30, c31, c32, c33);
        StoreRow<TOps, TV>(c + 4L * ldc, accumulate, w, wide, c40, c41, c42, c43);
        StoreRow<TOps, TV>(c + 5L * ldc, accumulate, w, wide, c50, c51, c52, c53);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TOps, TV>(float* c, bool accumulate, int w, bool wide, TV v0, TV v1, TV v2, TV v3)
        where TOps : struct, IVectorOps<TV> where TV : struct
    {
        if (accumulate)
        {
            v0 = TOps.Add(v0, TOps.Load(c));
            v1 = TOps.Add(v1, TOps.Load(c + w));
            if (wide)
            {
                v2 = TOps.Add(v2, TOps.Load(c + 2 * w));
                v3 = TOps.Add(v3, TOps.Load(c + 3 * w));
            }
        }
        TOps.Store(c, v0);
        TOps.Store(c + w, v1);
        if (wide)
        {
            TOps.Store(c + 2 * w, v2);
            TOps.Store(c + 3 * w, v3);
        }
    }
}
