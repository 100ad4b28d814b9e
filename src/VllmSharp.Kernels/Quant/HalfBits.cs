using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels.Quant;

/// <summary>Reads and writes the little-endian f16 scales inside quantized blocks.</summary>
internal static unsafe class HalfBits
{
    /// <summary>
    /// Hot-path f16 → f32 (one per block): shifting the exponent+mantissa into f32 position and multiplying by
    /// 2^112 re-biases the exponent and handles zero and subnormals exactly in three instructions, where the BCL
    /// conversion branches. Only Inf/NaN scales (never valid in a block) come out finite instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Read(byte* p)
    {
        uint h = Unsafe.ReadUnaligned<ushort>(p);
        float magnitude = BitConverter.UInt32BitsToSingle((h & 0x7FFF) << 13) * 5.192296858534828e33f; // 2^112
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | (h & 0x8000) << 16);
    }

    public static float Read(ReadOnlySpan<byte> p, int offset)
        => (float)BitConverter.UInt16BitsToHalf((ushort)(p[offset] | p[offset + 1] << 8));

    public static void Write(Span<byte> p, int offset, float value)
    {
        ushort bits = BitConverter.HalfToUInt16Bits((Half)value);
        p[offset] = (byte)bits;
        p[offset + 1] = (byte)(bits >> 8);
    }

    /// <summary>
    /// The smallest f16 ≥ <paramref name="value"/> (value ≥ 0): scales are rounded up so that the stored scale still
    /// covers the block's range, which is what makes the quantizers' error bounds hold after f16 rounding.
    /// </summary>
    public static float RoundUp(float value)
    {
        Half h = (Half)value;
        if ((float)h < value) h = BitConverter.UInt16BitsToHalf((ushort)(BitConverter.HalfToUInt16Bits(h) + 1));
        return (float)h;
    }
}
