namespace VllmSharp.Kernels.Quant;

/// <summary>
/// ggml's block-quantized weight formats (names and byte layouts as in llama.cpp's ggml-common.h), so GGUF tensor
/// data can be used in place. Q8_0/Q4_0 use 32-value blocks; the K-quants 256-value super-blocks.
/// </summary>
public enum QuantType
{
    /// <summary>34 bytes per 32 values: f16 scale d, then 32 int8; value = q·d.</summary>
    Q8_0,

    /// <summary>18 bytes per 32 values: f16 scale d, then 16 bytes of nibbles (low = elements 0..15, high = 16..31); value = (q − 8)·d.</summary>
    Q4_0,

    /// <summary>144 bytes per 256 values: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins for 8 sub-blocks of 32, 128 bytes of nibbles; value = d·sc·q − dmin·m.</summary>
    Q4_K,

    /// <summary>210 bytes per 256 values: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales (sub-blocks of 16), f16 d; value = d·sc·(q − 32).</summary>
    Q6_K,

    /// <summary>22 bytes per 32 values: f16 scale d, 4 bytes qh (bit j = 5th bit of element j), 16 bytes of nibbles (as Q4_0); value = (q − 16)·d.</summary>
    Q5_0,
}
