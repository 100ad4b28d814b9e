using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels;

public static unsafe partial class MatMul
{
    /// <summary>Weight rows a GEMV tile reads together: each weight vector loaded feeds up to 4 activation rows.</summary>
    private const int GemvRowBlock = 4;

    /// <summary>
    /// GEMV path for a few activation rows (decode): y[i, r] = x[i, :] · W[r, :] for r in [rowStart, rowEnd).
    /// Each weight row is streamed from memory once in its own dtype and converted in registers; activation rows
    /// are taken 4 at a time so the weight tile (4 rows, still in L1/L2) is reused by every chunk of m.
    /// </summary>
    private static void GemvRange<TOps, TV, TW>(float* x, int m, int k, byte* w, int rowStart, int rowEnd, float* y, int ldy)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad
    {
        long rowBytes = (long)k * TW.ElementSize;
        for (int r = rowStart; r < rowEnd; r += GemvRowBlock)
        {
            int valid = Math.Min(GemvRowBlock, rowEnd - r);
            byte* wr = w + r * rowBytes;
            for (int i = 0; i < m; i += 4)
            {
                float* xi = x + (long)i * k;
                float* yi = y + (long)i * ldy + r;
                switch (m - i)
                {
                    case 1: GemvTile<TOps, TV, TW, Rows1>(wr, rowBytes, valid, xi, k, yi, ldy); break;
                    case 2: GemvTile<TOps, TV, TW, Rows2>(wr, rowBytes, valid, xi, k, yi, ldy); break;
                    case 3: GemvTile<TOps, TV, TW, Rows3>(wr, rowBytes, valid, xi, k, yi, ldy); break;
                    default: GemvTile<TOps, TV, TW, Rows4>(wr, rowBytes, valid, xi, k, yi, ldy); break;
                }
            }
        }
    }

    /// <summary>
    /// One 4-weight-row × TM-activation-row tile over the full k: 4·TM independent accumulators, horizontal sums
    /// only at the end. Every (activation row, weight row) pair is summed in the same order whatever TM is, so a
    /// row's result does not depend on the batch it came in (bitwise; a 2× k-unrolled m = 1 variant was within
    /// measurement noise and would have broken that). Rows past <paramref name="validRows"/> re-read the last valid row (already cached) and are
    /// not stored, which keeps the hot loop free of edge cases.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemvTile<TOps, TV, TW, TM>(byte* w, long rowBytes, int validRows, float* x, int k, float* y, int ldy)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad where TM : struct, IRowCount
    {
        byte* w0 = w;
        byte* w1 = w + (validRows > 1 ? rowBytes : 0);
        byte* w2 = w + (validRows > 2 ? 2 * rowBytes : (validRows - 1) * rowBytes);
        byte* w3 = w + (validRows > 3 ? 3 * rowBytes : (validRows - 1) * rowBytes);
        float* x0 = x, x1 = x + k, x2 = x + 2L * k, x3 = x + 3L * k;

        TV a00 = TOps.Zero, a01 = TOps.Zero, a02 = TOps.Zero, a03 = TOps.Zero;
        TV a10 = TOps.Zero, a11 = TOps.Zero, a12 = TOps.Zero, a13 = TOps.Zero;
        TV a20 = TOps.Zero, a21 = TOps.Zero, a22 = TOps.Zero, a23 = TOps.Zero;
        TV a30 = TOps.Zero, a31 = TOps.Zero, a32 = TOps.Zero, a33 = TOps.Zero;

        int step = TOps.Count;
        int es = TW.ElementSize;
        int kVec = k - k % step;
        int kk = 0;
        for (; kk < kVec; kk += step)
        {
            long off = (long)kk * es;
            TV v0 = TW.Load<TOps, TV>(w0 + off);
            TV v1 = TW.Load<TOps, TV>(w1 + off);
            TV v2 = TW.Load<TOps, TV>(w2 + off);
            TV v3 = TW.Load<TOps, TV>(w3 + off);
            TV xv = TOps.Load(x0 + kk);
            a00 = TOps.Fma(v0, xv, a00); a01 = TOps.Fma(v1, xv, a01); a02 = TOps.Fma(v2, xv, a02); a03 = TOps.Fma(v3, xv, a03);
            if (TM.Value > 1)
            {
                xv = TOps.Load(x1 + kk);
                a10 = TOps.Fma(v0, xv, a10); a11 = TOps.Fma(v1, xv, a11); a12 = TOps.Fma(v2, xv, a12); a13 = TOps.Fma(v3, xv, a13);
            }
            if (TM.Value > 2)
            {
                xv = TOps.Load(x2 + kk);
                a20 = TOps.Fma(v0, xv, a20); a21 = TOps.Fma(v1, xv, a21); a22 = TOps.Fma(v2, xv, a22); a23 = TOps.Fma(v3, xv, a23);
            }
            if (TM.Value > 3)
            {
                xv = TOps.Load(x3 + kk);
                a30 = TOps.Fma(v0, xv, a30); a31 = TOps.Fma(v1, xv, a31); a32 = TOps.Fma(v2, xv, a32); a33 = TOps.Fma(v3, xv, a33);
            }
        }

        StoreGemvRow<TOps, TV, TW>(a00, a01, a02, a03, w0, w1, w2, w3, x0, kk, k, y, validRows);
        if (TM.Value > 1) StoreGemvRow<TOps, TV, TW>(a10, a11, a12, a13, w0, w1, w2, w3, x1, kk, k, y + ldy, validRows);
        if (TM.Value > 2) StoreGemvRow<TOps, TV, TW>(a20, a21, a22, a23, w0, w1, w2, w3, x2, kk, k, y + 2L * ldy, validRows);
        if (TM.Value > 3) StoreGemvRow<TOps, TV, TW>(a30, a31, a32, a33, w0, w1, w2, w3, x3, kk, k, y + 3L * ldy, validRows);
    }

    /// <summary>Reduces one activation row's 4 accumulators, adds the k tail (k mod vector width) and stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreGemvRow<TOps, TV, TW>(TV a0, TV a1, TV a2, TV a3, byte* w0, byte* w1, byte* w2, byte* w3,
        float* x, int kTail, int k, float* y, int validRows)
        where TOps : struct, IVectorOps<TV> where TV : struct where TW : struct, IWeightLoad
    {
        float s0 = TOps.Sum(a0), s1 = TOps.Sum(a1), s2 = TOps.Sum(a2), s3 = TOps.Sum(a3);
        int es = TW.ElementSize;
        for (int kk = kTail; kk < k; kk++)
        {
            float xv = x[kk];
            long off = (long)kk * es;
            s0 += TW.LoadScalar(w0 + off) * xv;
            s1 += TW.LoadScalar(w1 + off) * xv;
            s2 += TW.LoadScalar(w2 + off) * xv;
            s3 += TW.LoadScalar(w3 + off) * xv;
        }
        y[0] = s0;
        if (validRows > 1) y[1] = s1;
        if (validRows > 2) y[2] = s2;
        if (validRows > 3) y[3] = s3;
    }
}
