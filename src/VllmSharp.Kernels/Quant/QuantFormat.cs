namespace VllmSharp.Kernels.Quant;

/// <summary>Block geometry of each <see cref="QuantType"/>.</summary>
public static class QuantFormat
{
    /// <summary>Values per block (32 or 256).</summary>
    public static int BlockElements(QuantType type) => type switch
    {
        QuantType.Q8_0 or QuantType.Q4_0 or QuantType.Q5_0 => 32,
        QuantType.Q4_K or QuantType.Q6_K => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown quantization type."),
    };

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(QuantType type) => type switch
    {
        QuantType.Q8_0 => 2 + 32,
        QuantType.Q4_0 => 2 + 16,
        QuantType.Q4_K => 2 + 2 + 12 + 128,
        QuantType.Q6_K => 128 + 64 + 16 + 2,
        QuantType.Q5_0 => 2 + 4 + 16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown quantization type."),
    };

    /// <summary>Bytes of one row of <paramref name="cols"/> values; <paramref name="cols"/> must be a multiple of the block size.</summary>
    public static long RowBytes(QuantType type, int cols)
    {
        int block = BlockElements(type);
        if (cols < 0 || cols % block != 0)
            throw new ArgumentException($"{type} rows must hold a multiple of {block} values, got {cols}.", nameof(cols));
        return (long)(cols / block) * BlockBytes(type);
    }
}
