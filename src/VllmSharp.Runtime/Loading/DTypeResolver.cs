using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>Maps vLLM's <c>--dtype</c> flag and the checkpoint's torch_dtype to the dtype the model runs in.</summary>
public static class DTypeResolver
{
    public static IReadOnlyList<string> Choices { get; } = ["auto", "half", "float16", "bfloat16", "float", "float32"];

    /// <summary>
    /// "auto" follows vLLM's documented rule: bfloat16 for BF16 checkpoints, float16 for F16 and F32 ones (and for
    /// a config without torch_dtype, which HF treats as float32).
    /// </summary>
    public static DType Resolve(string dtypeFlag, DType? configDtype)
    {
        ArgumentNullException.ThrowIfNull(dtypeFlag);
        return dtypeFlag.Trim().ToLowerInvariant() switch
        {
            "auto" => configDtype == DType.BF16 ? DType.BF16 : DType.F16,
            "half" or "float16" => DType.F16,
            "bfloat16" => DType.BF16,
            "float" or "float32" => DType.F32,
            _ => throw new ArgumentException(
                $"invalid dtype '{dtypeFlag}'; choose one of: {string.Join(", ", Choices)}", nameof(dtypeFlag)),
        };
    }
}
