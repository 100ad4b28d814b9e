namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// Block geometry of each <see cref="GgmlType"/>: a row of a quantized tensor is a sequence of blocks, each holding
/// <see cref="BlockSize"/> elements in <see cref="TypeSize"/> bytes. Sizes follow ggml's block structs.
/// </summary>
public static class GgmlTypeInfo
{
    /// <summary>True for the types this reader knows the layout of.</summary>
    public static bool IsKnown(GgmlType type) => TypeSizeOrZero(type) != 0;

    /// <summary>Elements per block (1 for plain types, 32 for Q*_0/Q*_1, 256 for k-quants).</summary>
    public static int BlockSize(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.F64
            or GgmlType.I8 or GgmlType.I16 or GgmlType.I32 or GgmlType.I64 => 1,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.Q8_1 => 32,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.Q8_K => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ggml type"),
    };

    /// <summary>Bytes per block.</summary>
    public static int TypeSize(GgmlType type)
    {
        int size = TypeSizeOrZero(type);
        return size != 0 ? size : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ggml type");
    }

    /// <summary>Bytes of a row of <paramref name="elements"/> elements, which must be a whole number of blocks.</summary>
    public static long RowBytes(GgmlType type, long elements)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elements);
        int block = BlockSize(type);
        if (elements % block != 0)
            throw new ArgumentException($"{elements} elements is not a whole number of {type} blocks of {block}", nameof(elements));
        return checked(elements / block * TypeSize(type));
    }

    // Layouts (f16 = 2 bytes): Q4_0 d + 16 nibble bytes; Q4_1 d, m + 16; Q5_0 d + 4 high-bit bytes + 16;
    // Q5_1 d, m + 4 + 16; Q8_0 d + 32; Q8_1 d, s + 32; Q2_K 16 scales + 64 + d, dmin; Q3_K 32 hmask + 64 + 12 scales
    // + d; Q4_K d, dmin + 12 scales + 128; Q5_K d, dmin + 12 + 32 qh + 128; Q6_K 128 ql + 64 qh + 16 scales + d;
    // Q8_K f32 d + 256 + 16 i16 block sums.
    private static int TypeSizeOrZero(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 => 2,
        GgmlType.BF16 => 2,
        GgmlType.F64 => 8,
        GgmlType.I8 => 1,
        GgmlType.I16 => 2,
        GgmlType.I32 => 4,
        GgmlType.I64 => 8,
        GgmlType.Q4_0 => 18,
        GgmlType.Q4_1 => 20,
        GgmlType.Q5_0 => 22,
        GgmlType.Q5_1 => 24,
        GgmlType.Q8_0 => 34,
        GgmlType.Q8_1 => 36,
        GgmlType.Q2_K => 84,
        GgmlType.Q3_K => 110,
        GgmlType.Q4_K => 144,
        GgmlType.Q5_K => 176,
        GgmlType.Q6_K => 210,
        GgmlType.Q8_K => 292,
        _ => 0,
    };
}
