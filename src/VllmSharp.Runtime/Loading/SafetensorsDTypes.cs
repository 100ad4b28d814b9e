using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>The dtype names of the safetensors format and their element sizes.</summary>
public static class SafetensorsDTypes
{
    public const string SupportedList = "F32, F16, BF16";

    /// <summary>Bytes per element of a safetensors dtype name; 0 for a name the format does not define.</summary>
    public static int SizeOf(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E4M3" or "F8_E5M2" or "F8_E8M0" => 1,
        "U16" or "I16" or "F16" or "BF16" => 2,
        "U32" or "I32" or "F32" => 4,
        "U64" or "I64" or "F64" or "C64" => 8,
        _ => 0,
    };

    public static string NameOf(DType type) => type switch
    {
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>True for the dtypes the engine computes with.</summary>
    public static bool TryParseSupported(string dtype, out DType type)
    {
        switch (dtype)
        {
            case "F32": type = DType.F32; return true;
            case "F16": type = DType.F16; return true;
            case "BF16": type = DType.BF16; return true;
            default: type = default; return false;
        }
    }
}
