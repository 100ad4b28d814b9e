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
    /// <remarks>
    /// For paired dtypes (bf16) <paramref name="xPairs"/> holds x with each block of 2·Count elements split into its
    /// even then odd elements (see <see cref="DeinterleavePairs"/>); otherwise it is x itself.
    /// </remarks>
    private static void GemvRange<TOps, TV, TW>(float* x, float* xPairs, int m, int k, byte* w, int rowStart, int rowEnd, float* y, int ldy)
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
                float* xpi = xPairs + (long)i * k;
                float* yi = y + (long)i * ldy + r;
                switch (m - i)
                {
                    case 1: GemvTile<TOps, TV, TW, Rows1>(wr, rowBytes, valid, xi, xpi, k, yi, ldy); break;
                    case 2: GemvTile<TOps, TV, TW, Rows2>(wr, rowBytes, valid, xi, xpi, k, yi, ldy); break;
                    case 3: GemvTile<TOps, TV, TW, Rows3>(wr, rowBytes, valid, xi, xpi, k, yi, ldy); break;
                    default: GemvTile<TOps, TV, TW, Rows4>(wr, rowBytes, valid, xi, xpi, k, yi, ldy); break;
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
    private static void GemvTile<TOps, TV, TW, TM>(byte* w, long rowBytes, int validRows, float* x, float* xPairs, int k, float* y, int ldy)
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
        int kk = 0;
        if (TW.Paired)
        {
            // Same accumulator for the even and the odd half, in a fixed order: results stay independent of TM.
            float* p0 = xPairs, p1 = xPairs + k, p2 = xPairs + 2L * k, p3 = xPairs + 3L * k;
            int kPairs = k - k % (2 * step);
            for (; kk < kPairs; kk += 2 * step)
            {
                long off = (long)kk * es;
                TV v0 = TW.LoadPair<TOps, TV>(w0 + off, out TV o0);
                TV v1 = TW.LoadPair<TOps, TV>(w1 + off, out TV o1);
                TV v2 = TW.LoadPair<TOps, TV>(w2 + off, out TV o2);
                TV v3 = TW.LoadPair<TOps, TV>(w3 + off, out TV o3);
                TV xe = TOps.Load(p0 + kk), xo = TOps.Load(p0 + kk + step);
                a00 = TOps.Fma(o0, xo, TOps.Fma(v0, xe, a00)); a01 = TOps.Fma(o1, xo, TOps.Fma(v1, xe, a01));
                a02 = TOps.Fma(o2, xo, TOps.Fma(v2, xe, a02)); a03 = TOps.Fma(o3, xo, TOps.Fma(v3, xe, a03));
                if (TM.Value > 1)
                {
                    xe = TOps.Load(p1 + kk); xo = TOps.Load(p1 + kk + step);
                    a10 = TOps.Fma(o0, xo, TOps.Fma(v0, xe, a10)); a11 = TOps.Fma(o1, xo, TOps.Fma(v1, xe, a11));
                    a12 = TOps.Fma(o2, xo, TOps.Fma(v2, xe, a12)); a13 = TOps.Fma(o3, xo, TOps.Fma(v3, xe, a13));
                }
                if (TM.Value > 2)
                {
                    xe = TOps.Load(p2 + kk); xo = TOps.Load(p2 + kk + step);
                    a20 = TOps.Fma(o0, xo, TOps.Fma(v0, xe, a20)); a21 = TOps.Fma(o1, xo, TOps.Fma(v1, xe, a21));
                    a22 = TOps.Fma(o2, xo, TOps.Fma(v2, xe, a22)); a23 = TOps.Fma(o3, xo, TOps.Fma(v3, xe, a23));
                }
                if (TM.Value > 3)
                {
                    xe = TOps.Load(p3 + kk); xo = TOps.Load(p3 + kk + step);
                    a30 = TOps.Fma(o0, xo, TOps.Fma(v0, xe, a30)); a31 = TOps.Fma(o1, xo, TOps.Fma(v1, xe, a31));
                    a32 = TOps.Fma(o2, xo, TOps.Fma(v2, xe, a32)); a33 = TOps.Fma(o3, xo, TOps.Fma(v3, xe, a33));
                }
            }
        }
        int kVec = TW.Paired ? kk : k - k % step;
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

    /// <summary>
    /// Copies x (m rows of k) to <paramref name="dst"/> with every full block of 2·width elements reordered as its
    /// even elements followed by its odd elements, matching <see cref="IVectorOps{TV}.LoadBf16Pair"/>; the tail past
    /// the last full block is left unused (the GEMV reads the tail from x).
    /// </summary>
    private static void DeinterleavePairs(float* x, int m, int k, int width, float* dst)
    {
        int block = 2 * width;
        int kPairs = k - k % block;
        for (int i = 0; i < m; i++)
        {
            float* src = x + (long)i * k, d = dst + (long)i * k;
            for (int b = 0; b < kPairs; b += block)
            {
                for (int t = 0; t < width; t++)
                {
                    d[b + t] = src[b + 2 * t];
                    d[b + width + t] = src[b + 2 * t + 1];
                }
            }
        }
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
