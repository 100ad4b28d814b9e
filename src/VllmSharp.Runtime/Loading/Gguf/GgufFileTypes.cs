namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>Parsing and llama.cpp numbering of <see cref="GgufFileType"/>.</summary>
public static class GgufFileTypes
{
    /// <summary>Accepted spellings, for help texts.</summary>
    public static IReadOnlyList<string> Choices { get; } = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"];

    /// <summary>
    /// Parses a <c>--dtype</c> value: f32/float32/float, f16/float16/half, bf16/bfloat16, q8_0, q4_0, q4_k
    /// (also q4_k_m), q6_k; case-insensitive.
    /// </summary>
    public static GgufFileType Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "f32" or "float32" or "float" => GgufFileType.F32,
            "f16" or "float16" or "half" => GgufFileType.F16,
            "bf16" or "bfloat16" => GgufFileType.BF16,
            "q8_0" => GgufFileType.Q8_0,
            "q4_0" => GgufFileType.Q4_0,
            "q4_k" or "q4_k_m" => GgufFileType.Q4_K,
            "q6_k" => GgufFileType.Q6_K,
            _ => throw new ArgumentException($"invalid GGUF dtype '{text}'; choose one of: {string.Join(", ", Choices)}", nameof(text)),
        };
    }

    /// <summary>llama.cpp's LLAMA_FTYPE number, stored as <c>general.file_type</c>.</summary>
    public static uint LlamaFileType(this GgufFileType type) => type switch
    {
        GgufFileType.F32 => 0,
        GgufFileType.F16 => 1,
        GgufFileType.Q4_0 => 2,
        GgufFileType.Q8_0 => 7,
        GgufFileType.Q4_K => 15, // MOSTLY_Q4_K_M
        GgufFileType.Q6_K => 18,
        GgufFileType.BF16 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>True for the block-quantized file types.</summary>
    public static bool IsQuantized(this GgufFileType type) => type >= GgufFileType.Q8_0;
}
