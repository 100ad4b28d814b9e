using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels;

public static unsafe partial class MatMul
{
    /// <summary>Output rows handed to a GEMV task are a multiple of this (keeps tasks cache-line friendly).</summary>
    private const int GemvRowBlock = 4;

    /// <summary>Bytes of weight rows reused by every group of 4 activation rows (fits L2 beside the activations).</summary>
    private const int GemvTileBytes = 64 * 1024;

    /// <summary>
    /// GEMV path for a few activation rows (decode): y[i, r] = x[i, :] · W[r, :] for r in [rowStart, rowEnd).
    /// Weight rows are streamed one after another, exactly in memory order: one sequential stream per thread is
    /// what the hardware prefetchers follow best (interleaving 4 rows measured ~25 % slower on Zen 5). Each
    /// weight vector loaded is converted in registers and feeds up to 4 activation rows.
    /// </summary>
    private static void GemvRange<TOps, TV, TW>(float* x, int m, int k, byte* w, int rowStart, int rowEnd, float* y, int ldy)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad
    {
        long rowBytes = (long)k * TW.ElementSize;
        // With many activation rows, go over them in groups of 4 against a tile of weight rows, so the group stays
        // in L1 while the tile (read from DRAM once, in order) is reused from cache by every group.
        int tile = Math.Max(1, GemvTileBytes / (int)Math.Min(rowBytes, GemvTileBytes));
        for (int r0 = rowStart; r0 < rowEnd; r0 += tile)
        {
            int r1 = Math.Min(rowEnd, r0 + tile);
            for (int i = 0; i < m; i += 4)
            {
                float* xi = x + (long)i * k;
                for (int r = r0; r < r1; r++)
                {
                    byte* wr = w + r * rowBytes;
                    float* yi = y + (long)i * ldy + r;
                    switch (m - i)
                    {
                        case 1: GemvRow<TOps, TV, TW, Rows1>(wr, xi, k, yi, ldy); break;
                        case 2: GemvRow<TOps, TV, TW, Rows2>(wr, xi, k, yi, ldy); break;
                        case 3: GemvRow<TOps, TV, TW, Rows3>(wr, xi, k, yi, ldy); break;
                        default: GemvRow<TOps, TV, TW, Rows4>(wr, xi, k, yi, ldy); break;
                    }
                }
            }
        }
    }

    /// <summary>
    /// One weight row against TM activation rows over the full k, four vectors per iteration into four independent
    /// accumulators per activation row (enough to hide the FMA latency), reduced once at the end. Every
    /// (activation row, weight row) pair is summed in the same order whatever TM is, so a row's result does not
    /// depend on the batch it came in (bitwise, within one ISA tier).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemvRow<TOps, TV, TW, TM>(byte* w, float* x, int k, float* y, int ldy)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad where TM : struct, IRowCount
    {
        float* x0 = x, x1 = x + k, x2 = x + 2L * k, x3 = x + 3L * k;
        TV a0 = TOps.Zero, b0 = TOps.Zero, c0 = TOps.Zero, d0 = TOps.Zero;
        TV a1 = TOps.Zero, b1 = TOps.Zero, c1 = TOps.Zero, d1 = TOps.Zero;
        TV a2 = TOps.Zero, b2 = TOps.Zero, c2 = TOps.Zero, d2 = TOps.Zero;
        TV a3 = TOps.Zero, b3 = TOps.Zero, c3 = TOps.Zero, d3 = TOps.Zero;

        int s = TOps.Count;
        int es = TW.ElementSize;
        int kk = 0;
        for (; kk + 4 * s <= k; kk += 4 * s)
        {
            byte* p = w + (long)kk * es;
            StreamPrefetch.Ahead(p, StreamPrefetch.LinesFor(4 * s * es));
            TV v0 = TW.Load<TOps, TV>(p);
            TV v1 = TW.Load<TOps, TV>(p + s * es);
            TV v2 = TW.Load<TOps, TV>(p + 2 * s * es);
            TV v3 = TW.Load<TOps, TV>(p + 3 * s * es);
            a0 = TOps.Fma(v0, TOps.Load(x0 + kk), a0); b0 = TOps.Fma(v1, TOps.Load(x0 + kk + s), b0);
            c0 = TOps.Fma(v2, TOps.Load(x0 + kk + 2 * s), c0); d0 = TOps.Fma(v3, TOps.Load(x0 + kk + 3 * s), d0);
            if (TM.Value > 1)
            {
                a1 = TOps.Fma(v0, TOps.Load(x1 + kk), a1); b1 = TOps.Fma(v1, TOps.Load(x1 + kk + s), b1);
                c1 = TOps.Fma(v2, TOps.Load(x1 + kk + 2 * s), c1); d1 = TOps.Fma(v3, TOps.Load(x1 + kk + 3 * s), d1);
            }
            if (TM.Value > 2)
            {
                a2 = TOps.Fma(v0, TOps.Load(x2 + kk), a2); b2 = TOps.Fma(v1, TOps.Load(x2 + kk + s), b2);
                c2 = TOps.Fma(v2, TOps.Load(x2 + kk + 2 * s), c2); d2 = TOps.Fma(v3, TOps.Load(x2 + kk + 3 * s), d2);
            }
            if (TM.Value > 3)
            {
                a3 = TOps.Fma(v0, TOps.Load(x3 + kk), a3); b3 = TOps.Fma(v1, TOps.Load(x3 + kk + s), b3);
                c3 = TOps.Fma(v2, TOps.Load(x3 + kk + 2 * s), c3); d3 = TOps.Fma(v3, TOps.Load(x3 + kk + 3 * s), d3);
            }
        }
        for (; kk + s <= k; kk += s)
        {
            TV v = TW.Load<TOps, TV>(w + (long)kk * es);
            a0 = TOps.Fma(v, TOps.Load(x0 + kk), a0);
            if (TM.Value > 1) a1 = TOps.Fma(v, TOps.Load(x1 + kk), a1);
            if (TM.Value > 2) a2 = TOps.Fma(v, TOps.Load(x2 + kk), a2);
            if (TM.Value > 3) a3 = TOps.Fma(v, TOps.Load(x3 + kk), a3);
        }

        y[0] = Finish<TOps, TV, TW>(a0, b0, c0, d0, w, x0, kk, k);
        if (TM.Value > 1) y[ldy] = Finish<TOps, TV, TW>(a1, b1, c1, d1, w, x1, kk, k);
        if (TM.Value > 2) y[2L * ldy] = Finish<TOps, TV, TW>(a2, b2, c2, d2, w, x2, kk, k);
        if (TM.Value > 3) y[3L * ldy] = Finish<TOps, TV, TW>(a3, b3, c3, d3, w, x3, kk, k);
    }

    /// <summary>Reduces one activation row's accumulators and adds the k tail (k mod vector width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish<TOps, TV, TW>(TV a, TV b, TV c, TV d, byte* w, float* x, int kTail, int k)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad
    {
        float sum = TOps.Sum(TOps.Add(TOps.Add(a, b), TOps.Add(c, d)));
        int es = TW.ElementSize;
        for (int kk = kTail; kk < k; kk++) sum += TW.LoadScalar(w + (long)kk * es) * x[kk];
        return sum;
    }
}
