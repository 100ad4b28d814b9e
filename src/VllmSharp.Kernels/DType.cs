namespace VllmSharp.Kernels;

/// <summary>Element type of a weight tensor as stored in a checkpoint (safetensors names in comments).</summary>
public enum DType
{
    /// <summary>IEEE-754 binary32 ("F32").</summary>
    F32,
    /// <summary>IEEE-754 binary16 ("F16").</summary>
    F16,
    /// <summary>bfloat16, the upper 16 bits of a binary32 ("BF16").</summary>
    BF16,
}

public static class DTypeExtensions
{
    public static int SizeInBytes(this DType type) => type == DType.F32 ? 4 : 2;
}
