using VllmSharp.Kernels.Quant;

namespace VllmSharp.Kernels.Reference;

/// <summary>
/// Scalar twin of <see cref="QuantMatMul"/>: dequantizes each weight element on its own from the block layout
/// (written independently of <see cref="Quantizer.Dequantize"/>, one element at a time) and accumulates the f32 dot
/// product in double.
/// </summary>
public static class ReferenceQuant
{
    /// <summary>Element <paramref name="i"/> of a quantized row.</summary>
    public static float Element(ReadOnlySpan<byte> row, QuantType type, int i)
    {
        int bb = QuantFormat.BlockBytes(type), be = QuantFormat.BlockElements(type);
        ReadOnlySpan<byte> blk = row.Slice(i / be * bb, bb);
        int e = i % be;
        switch (type)
        {
            case QuantType.Q8_0:
                return Half(blk, 0) * (sbyte)blk[2 + e];
            case QuantType.Q4_0:
                {
                    int code = e < 16 ? blk[2 + e] & 0xF : blk[2 + e - 16] >> 4;
                    return Half(blk, 0) * (code - 8);
                }
            case QuantType.Q5_0:
                {
                    int nibble = e < 16 ? blk[6 + e] & 0xF : blk[6 + e - 16] >> 4;
                    int fifth = (blk[2 + e / 8] >> (e % 8)) & 1; // qh is a little-endian uint32: bit e in byte e/8
                    return Half(blk, 0) * ((nibble | fifth << 4) - 16);
                }
            case QuantType.Q4_K:
                {
                    int sub = e / 32, chunk = e / 64; // sub-block of 32; each 64-value chunk shares 32 bytes (low, then high nibbles)
                    int b = blk[16 + 32 * chunk + e % 32];
                    int code = sub % 2 == 0 ? b & 0xF : b >> 4;
                    int sc, mn;
                    if (sub < 4) { sc = blk[4 + sub] & 63; mn = blk[8 + sub] & 63; }
                    else
                    {
                        sc = (blk[4 + sub + 4] & 0xF) | (blk[4 + sub - 4] >> 6) << 4;
                        mn = (blk[4 + sub + 4] >> 4) | (blk[4 + sub] >> 6) << 4;
                    }
                    return Half(blk, 0) * sc * code - Half(blk, 2) * mn;
                }
            default: // Q6_K
                {
                    int half = e / 128, within = e % 128, quarter = within / 32, l = within % 32;
                    int lowByte = blk[64 * half + l + (quarter % 2 == 1 ? 32 : 0)];
                    int low = quarter < 2 ? lowByte & 0xF : lowByte >> 4;
                    int high = (blk[128 + 32 * half + l] >> (2 * quarter)) & 3;
                    return Half(blk, 208) * (sbyte)blk[192 + e / 16] * ((low | high << 4) - 32);
                }
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> row, QuantType type, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = Element(row, type, i);
    }

    /// <summary>y[i, r] = Σ_c x[i, c]·W[r, c] in double over the dequantized weights.</summary>
    public static void Forward(ReadOnlySpan<float> x, int m, ReadOnlySpan<byte> weights, QuantType type, int rows, int cols, Span<double> y)
    {
        int rowBytes = checked((int)QuantFormat.RowBytes(type, cols));
        float[] w = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            Dequantize(weights.Slice(r * rowBytes, rowBytes), type, w);
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int c = 0; c < cols; c++) sum += (double)x[i * cols + c] * w[c];
                y[i * rows + r] = sum;
            }
        }
    }

    /// <summary>
    /// The 8-bit activation rounding the kernels apply (per 32 values: step amax/127, round to nearest), done
    /// independently in double so tests can separate that designed error from kernel bugs.
    /// </summary>
    public static void RoundActivations8(ReadOnlySpan<float> x, Span<float> dst)
    {
        for (int b = 0; b < x.Length / 32; b++)
        {
            double amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.Max(amax, Math.Abs(x[32 * b + i]));
            double step = amax / 127;
            for (int i = 0; i < 32; i++)
                dst[32 * b + i] = step == 0 ? 0 : (float)(Math.Round(x[32 * b + i] / step, MidpointRounding.AwayFromZero) * step);
        }
    }

    private static float Half(ReadOnlySpan<byte> b, int offset) => (float)BitConverter.UInt16BitsToHalf((ushort)(b[offset] | b[offset + 1] << 8));
}
