using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels.Quant;

/// <summary>Reads and writes the little-endian f16 scales inside quantized blocks.</summary>
internal static unsafe class HalfBits
{
    /// <summary>
    /// Hot-path f16 → f32 (one per block) without a denormal float operand: normals get the exponent re-biased in
    /// the integer domain; subnormals and zero are (2^-14 + m·2^-24) − 2^-14, exact by Sterbenz. K-quant super-block
    /// scales are often f16 subnormals (a Q6_K d is ~max|w|/(31·127)), and multiplying a denormal float by 2^112
    /// instead cost a microcode assist per block here (Q6_K held at 15 GB/CPU-s). Inf/NaN (never a valid scale)
    /// come out finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Read(byte* p)
    {
        uint h = Unsafe.ReadUnaligned<ushort>(p);
        uint em = (h & 0x7FFF) << 13, sign = (h & 0x8000) << 16;
        float normal = BitConverter.UInt32BitsToSingle(em + (112u << 23));
        float subnormal = BitConverter.UInt32BitsToSingle(em + (113u << 23)) - 6.103515625e-05f;
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits((h & 0x7C00) != 0 ? normal : subnormal) | sign);
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
