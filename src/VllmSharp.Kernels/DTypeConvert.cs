using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels;

/// <summary>Bulk conversion between stored dtypes and f32 (weights, embeddings, KV cache entries).</summary>
public static unsafe class DTypeConvert
{
    /// <summary>Reads dst.Length elements of <paramref name="type"/> at <paramref name="src"/> as f32 (exact).</summary>
    public static void ToSingle(nint src, DType type, Span<float> dst)
    {
        if (dst.IsEmpty) return;
        if (src == 0) throw new ArgumentException("Source address is null.", nameof(src));
        fixed (float* pd = dst)
        {
            byte* ps = (byte*)src;
            if (Vector512.IsHardwareAccelerated) ToSingle<MatMul.Ops512, Vector512<float>>(ps, type, dst.Length, pd);
            else if (Vector256.IsHardwareAccelerated) ToSingle<MatMul.Ops256, Vector256<float>>(ps, type, dst.Length, pd);
            else ToSingle<MatMul.OpsScalar, float>(ps, type, dst.Length, pd);
        }
    }

    private static void ToSingle<TOps, TV>(byte* src, DType type, int count, float* dst)
        where TOps : struct, MatMul.IVectorOps<TV> where TV : struct
    {
        switch (type)
        {
            case DType.F32: MatMul.ConvertRow<TOps, TV, MatMul.LoadF32>(src, count, dst); break;
            case DType.F16: MatMul.ConvertRow<TOps, TV, MatMul.LoadF16>(src, count, dst); break;
            case DType.BF16: MatMul.ConvertRow<TOps, TV, MatMul.LoadBf16>(src, count, dst); break;
            default: throw new ArgumentException($"Unsupported dtype {type}.", nameof(type));
        }
    }

    /// <summary>Writes src as <paramref name="type"/> at <paramref name="dst"/>, rounding to nearest even; NaN stays NaN.</summary>
    public static void FromSingle(ReadOnlySpan<float> src, DType type, nint dst)
    {
        if (src.IsEmpty) return;
        if (dst == 0) throw new ArgumentException("Destination address is null.", nameof(dst));
        switch (type)
        {
            case DType.F32:
                src.CopyTo(new Span<float>((void*)dst, src.Length));
                break;
            case DType.BF16:
            {
                ushort* d = (ushort*)dst;
                for (int i = 0; i < src.Length; i++) d[i] = SingleToBf16(src[i]);
                break;
            }
            case DType.F16:
            {
                ushort* d = (ushort*)dst;
                for (int i = 0; i < src.Length; i++) d[i] = SingleToF16(src[i]);
                break;
            }
            default:
                throw new ArgumentException($"Unsupported dtype {type}.", nameof(type));
        }
    }

    /// <summary>f32 → bf16 bits, round to nearest even (carries into the exponent, so overflow gives inf).</summary>
    internal static ushort SingleToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (ushort)((bits >> 16) | 0x0040); // quiet NaN, sign kept
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>f32 → f16 bits, round to nearest even, overflow to inf, gradual underflow to subnormals.</summary>
    internal static ushort SingleToF16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint sign = (bits >> 16) & 0x8000;
        uint a = bits & 0x7FFFFFFF;
        if (a >= 0x7F800000) // inf or NaN; a NaN keeps its top payload bits and is forced quiet
            return (ushort)(sign | (a == 0x7F800000 ? 0x7C00u : 0x7E00u | ((a >> 13) & 0x3FF)));
        if (a >= 0x477FF000) return (ushort)(sign | 0x7C00); // ≥ 65520 rounds (ties-to-even) past 65504
        if (a >= 0x38800000) // normal f16: rebias the exponent by 127 - 15 and round away 13 mantissa bits
        {
            uint rebased = a - 0x38000000;
            return (ushort)(sign | ((rebased + 0xFFF + ((rebased >> 13) & 1)) >> 13));
        }
        // Subnormal f16 (q × 2^-24): shift the 24-bit significand right by 126 - e with round to nearest even.
        int e = (int)(a >> 23);
        int shift = 126 - e;
        if (e == 0 || shift > 24) return (ushort)sign;
        uint significand = (a & 0x7FFFFF) | 0x800000;
        uint q = significand >> shift;
        uint rest = significand & ((1u << shift) - 1);
        uint half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1) != 0)) q++;
        return (ushort)(sign | q);
    }
}
