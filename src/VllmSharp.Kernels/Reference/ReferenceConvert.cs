namespace VllmSharp.Kernels.Reference;

/// <summary>Obviously-correct scalar twin of <see cref="DTypeConvert"/>, built on System.Half and double arithmetic.</summary>
public static unsafe class ReferenceConvert
{
    public static void ToSingle(nint src, DType type, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = ElementToSingle(src, type, i);
    }

    public static void FromSingle(ReadOnlySpan<float> src, DType type, nint dst)
    {
        for (int i = 0; i < src.Length; i++)
        {
            switch (type)
            {
                case DType.F32: ((float*)dst)[i] = src[i]; break;
                case DType.F16: ((ushort*)dst)[i] = BitConverter.HalfToUInt16Bits((Half)src[i]); break;
                case DType.BF16: ((ushort*)dst)[i] = ToBf16(src[i]); break;
                default: throw new ArgumentException($"Unsupported dtype {type}.", nameof(type));
            }
        }
    }

    /// <summary>Element <paramref name="index"/> of a buffer of <paramref name="type"/> as f32.</summary>
    public static float ElementToSingle(nint src, DType type, long index) => type switch
    {
        DType.F32 => ((float*)src)[index],
        DType.F16 => (float)BitConverter.UInt16BitsToHalf(((ushort*)src)[index]),
        DType.BF16 => BitConverter.UInt32BitsToSingle((uint)((ushort*)src)[index] << 16),
        _ => throw new ArgumentException($"Unsupported dtype {type}.", nameof(type)),
    };

    /// <summary>
    /// Nearest bf16 by comparing the two neighbouring candidates in double; a tie picks the even one. Past the
    /// largest finite bf16 the upper candidate is inf, which stands for 2^128 as IEEE rounding prescribes.
    /// </summary>
    private static ushort ToBf16(float value)
    {
        if (float.IsNaN(value)) return (ushort)((BitConverter.SingleToUInt32Bits(value) >> 16) | 0x40);
        if (float.IsInfinity(value)) return (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16);
        ushort low = (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16); // truncation: toward zero
        ushort high = (ushort)(low + 1);                                     // next magnitude away from zero
        double v = Math.Abs((double)value);
        double lowValue = Math.Abs((double)BitConverter.UInt32BitsToSingle((uint)low << 16));
        double highValue = (high & 0x7FFF) == 0x7F80 ? Math.Pow(2, 128) : Math.Abs((double)BitConverter.UInt32BitsToSingle((uint)high << 16));
        double dLow = v - lowValue, dHigh = highValue - v;
        if (dLow < dHigh) return low;
        if (dHigh < dLow) return high;
        return (low & 1) == 0 ? low : high;
    }
}
