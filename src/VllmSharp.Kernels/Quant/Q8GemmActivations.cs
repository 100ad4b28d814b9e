using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// Quantized activations laid out for <see cref="Q8Gemm"/>: rows in groups of 8, one int32 lane per row. For group g
/// and block b, <see cref="Codes"/> holds 8 k-steps × (8 rows × 4 codes): step q's 32 bytes are rows 0–7's codes
/// 4q..4q+3 of that block, so one 256-bit load feeds one VPDPBUSD against a broadcast 4-byte weight slice.
/// <see cref="Offsets"/> holds each row's −128·(block code sum), which removes the +128 that makes the weight codes
/// unsigned, and <see cref="Scales"/> each row's block scale. Rows past m (the last group's padding) are all zero;
/// their results are never stored.
/// </summary>
internal readonly unsafe struct Q8GemmActivations
{
    public readonly sbyte* Codes;
    public readonly int* Offsets;
    public readonly float* Scales;
    public readonly int M, Blocks32;

    public Q8GemmActivations(sbyte* codes, int* offsets, float* scales, int m, int blocks32)
    {
        Codes = codes;
        Offsets = offsets;
        Scales = scales;
        M = m;
        Blocks32 = blocks32;
    }

    public int Groups => (M + 7) / 8;

    /// <summary>Bytes of <see cref="Codes"/> for m rows of cols values.</summary>
    public static int CodeBytes(int m, int cols) => (m + 7) / 8 * 8 * cols;

    /// <summary>Elements of <see cref="Offsets"/> and of <see cref="Scales"/>.</summary>
    public static int BlockEntries(int m, int cols) => (m + 7) / 8 * 8 * (cols / 32);

    /// <summary>Group g's 256 code bytes of block b.</summary>
    public sbyte* BlockCodes(int g, int b) => Codes + ((long)g * Blocks32 + b) * 256;

    /// <summary>Index of group g's 8 offsets (and scales) of block b.</summary>
    public long BlockIndex(int g, int b) => ((long)g * Blocks32 + b) * 8;

    /// <summary>
    /// Lays out m rows of <see cref="ActivationQuantizer"/> output (codes row i at qx + i·cols; scales and integer
    /// block sums at i·blocks32) into the buffers, which hold <see cref="CodeBytes"/> and <see cref="BlockEntries"/>.
    /// </summary>
    public static Q8GemmActivations Pack(sbyte* qx, float* dx, int* blockSums, int m, int cols, sbyte* codes, int* offsets, float* scales)
    {
        for (int g = 0; g < (m + 7) / 8; g++) PackGroup(qx, dx, blockSums, m, cols, g, codes, offsets, scales);
        return new Q8GemmActivations(codes, offsets, scales, m, cols / 32);
    }

    /// <summary><see cref="Pack"/> for group g (rows 8g .. 8g + 7) only; groups are independent.</summary>
    public static void PackGroup(sbyte* qx, float* dx, int* blockSums, int m, int cols, int g, sbyte* codes, int* offsets, float* scales)
    {
        int blocks32 = cols / 32, rows = Math.Min(8, m - 8 * g);
        for (int b = 0; b < blocks32; b++)
        {
            long e = ((long)g * blocks32 + b) * 8;
            int* dst = (int*)(codes + e * 32);
            if (rows == 8 && Avx2.IsSupported)
                Transpose8x8((int*)(qx + 8L * g * cols + 32 * b), cols / 4, dst); // 8 rows × 8 four-code steps
            for (int l = 0; l < 8; l++)
            {
                long i = 8L * g + l;
                if (rows < 8 || !Avx2.IsSupported)
                {
                    int* src = (int*)(qx + i * cols + 32 * b);
                    for (int q = 0; q < 8; q++) dst[8 * q + l] = l < rows ? src[q] : 0;
                }
                offsets[e + l] = l < rows ? -(blockSums[i * blocks32 + b] << 7) : 0;
                scales[e + l] = l < rows ? dx[i * blocks32 + b] : 0;
            }
        }
    }

    /// <summary>dst[8q + l] = src[l·stride + q] for l, q in 0..8 (three rounds of in-lane unpacks and a lane permute).</summary>
    private static void Transpose8x8(int* src, int stride, int* dst)
    {
        Vector256<int> r0 = Vector256.Load(src), r1 = Vector256.Load(src + stride), r2 = Vector256.Load(src + 2 * stride), r3 = Vector256.Load(src + 3 * stride);
        Vector256<int> r4 = Vector256.Load(src + 4 * stride), r5 = Vector256.Load(src + 5 * stride), r6 = Vector256.Load(src + 6 * stride), r7 = Vector256.Load(src + 7 * stride);
        Vector256<int> t0 = Avx2.UnpackLow(r0, r1), t1 = Avx2.UnpackHigh(r0, r1);
        Vector256<int> t2 = Avx2.UnpackLow(r2, r3), t3 = Avx2.UnpackHigh(r2, r3);
        Vector256<int> t4 = Avx2.UnpackLow(r4, r5), t5 = Avx2.UnpackHigh(r4, r5);
        Vector256<int> t6 = Avx2.UnpackLow(r6, r7), t7 = Avx2.UnpackHigh(r6, r7);
        Vector256<long> u0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()), u1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64());
        Vector256<long> u2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()), u3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64());
        Vector256<long> u4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64()), u5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64());
        Vector256<long> u6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64()), u7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64());
        // u0: rows 0-3 of column 0 (low lane) and column 4 (high lane); u4 the same for rows 4-7.
        Avx2.Permute2x128(u0, u4, 0x20).AsInt32().Store(dst);
        Avx2.Permute2x128(u1, u5, 0x20).AsInt32().Store(dst + 8);
        Avx2.Permute2x128(u2, u6, 0x20).AsInt32().Store(dst + 16);
        Avx2.Permute2x128(u3, u7, 0x20).AsInt32().Store(dst + 24);
        Avx2.Permute2x128(u0, u4, 0x31).AsInt32().Store(dst + 32);
        Avx2.Permute2x128(u1, u5, 0x31).AsInt32().Store(dst + 40);
        Avx2.Permute2x128(u2, u6, 0x31).AsInt32().Store(dst + 48);
        Avx2.Permute2x128(u3, u7, 0x31).AsInt32().Store(dst + 56);
    }
}
