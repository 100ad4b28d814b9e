using VllmSharp.Kernels.Quant;

namespace VllmSharp.Kernels;

/// <summary>
/// Element type of a weight tensor as stored in a checkpoint (safetensors names for the float types, ggml names for
/// the block-quantized ones, whose byte layouts are described on <see cref="QuantType"/>).
/// </summary>
public enum DType
{
    /// <summary>IEEE-754 binary32 ("F32").</summary>
    F32,
    /// <summary>IEEE-754 binary16 ("F16").</summary>
    F16,
    /// <summary>bfloat16, the upper 16 bits of a binary32 ("BF16").</summary>
    BF16,
    /// <summary>ggml Q8_0: 34-byte blocks of 32 values (f16 scale + 32 int8).</summary>
    Q8_0,
    /// <summary>ggml Q4_0: 18-byte blocks of 32 values (f16 scale + 16 bytes of nibbles).</summary>
    Q4_0,
    /// <summary>ggml Q4_K: 144-byte super-blocks of 256 values.</summary>
    Q4_K,
    /// <summary>ggml Q6_K: 210-byte super-blocks of 256 values.</summary>
    Q6_K,
    /// <summary>ggml Q5_0: 22-byte blocks of 32 values (f16 scale + 32 fifth bits + 16 bytes of nibbles); what llama.cpp's Q4_K_M uses for rows that are not a multiple of 256.</summary>
    Q5_0,
}

public static class DTypeExtensions
{
    /// <summary>Bytes per element of a float type. Throws for block-quantized types, whose elements have no size of their own.</summary>
    public static int SizeInBytes(this DType type) => type switch
    {
        DType.F32 => 4,
        DType.F16 or DType.BF16 => 2,
        _ => throw new ArgumentException($"{type} is block-quantized: use RowBytes instead of a per-element size.", nameof(type)),
    };

    /// <summary>True for the ggml block-quantized types.</summary>
    public static bool IsQuantized(this DType type) => type is DType.Q8_0 or DType.Q4_0 or DType.Q4_K or DType.Q6_K or DType.Q5_0;

    /// <summary>Elements per block: 1 for float types, 32 for Q8_0/Q4_0/Q5_0, 256 for the K-quants.</summary>
    public static int BlockSize(this DType type) => type.IsQuantized() ? QuantFormat.BlockElements(type.ToQuantType()) : 1;

    /// <summary>Bytes of one row of <paramref name="cols"/> elements; cols must be a non-negative multiple of <see cref="BlockSize"/>.</summary>
    public static long RowBytes(this DType type, int cols)
    {
        if (!type.IsQuantized())
        {
            if (cols < 0) throw new ArgumentException($"cols must be non-negative, got {cols}.", nameof(cols));
            return (long)cols * type.SizeInBytes();
        }
        return QuantFormat.RowBytes(type.ToQuantType(), cols);
    }

    /// <summary>The kernel-side quantization type of a quantized dtype.</summary>
    internal static QuantType ToQuantType(this DType type) => type switch
    {
        DType.Q8_0 => QuantType.Q8_0,
        DType.Q4_0 => QuantType.Q4_0,
        DType.Q4_K => QuantType.Q4_K,
        DType.Q6_K => QuantType.Q6_K,
        DType.Q5_0 => QuantType.Q5_0,
        _ => throw new ArgumentException($"{type} is not block-quantized.", nameof(type)),
    };
}
