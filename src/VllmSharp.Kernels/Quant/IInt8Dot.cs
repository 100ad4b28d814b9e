using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// u8×s8 dot products of 4-byte groups into 8 int32 lanes (lane i = bytes 4i..4i+3). A struct type parameter so each
/// kernel is compiled once per instruction choice with no branch in the loop.
/// </summary>
internal interface IInt8Dot
{
    static abstract Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s);
}
