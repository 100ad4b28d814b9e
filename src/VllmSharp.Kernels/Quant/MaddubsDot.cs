using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// AVX2 VPMADDUBSW then VPMADDWD with ones. The int16 pair sums cannot saturate for our operands: weights are
/// ≤ 63 (or |w| ≤ 128 for Q8_0) and activations |a| ≤ 127, so a pair is at most 2·128·127 = 32512 &lt; 32767.
/// </summary>
internal readonly struct MaddubsDot : IInt8Dot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s)
        => Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));
}
