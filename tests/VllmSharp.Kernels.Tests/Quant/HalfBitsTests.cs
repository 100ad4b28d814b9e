using VllmSharp.Kernels.Quant;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

public sealed unsafe class HalfBitsTests
{
    [Fact]
    public void Read_EveryFiniteHalf_MatchesBclConversion()
    {
        // Exhaustive over all 2^16 bit patterns except Inf/NaN (exponent 31), which valid blocks never hold.
        for (int bits = 0; bits < 65536; bits++)
        {
            if ((bits & 0x7C00) == 0x7C00) continue;
            ushort h = (ushort)bits;
            float expected = (float)BitConverter.UInt16BitsToHalf(h);
            float actual = HalfBits.Read((byte*)&h);
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual), $"0x{bits:X4}: {actual} != {expected}");
        }
    }

    [Fact]
    public void RoundUp_NeverBelowValueAndExactForHalves()
    {
        var rng = new Random(3);
        for (int i = 0; i < 10000; i++)
        {
            float v = (float)(rng.NextDouble() * Math.Pow(10, rng.Next(-6, 4)));
            float up = HalfBits.RoundUp(v);
            Assert.True(up >= v && (float)(Half)up == up, $"{v} -> {up}");
        }
        Assert.Equal(0.5f, HalfBits.RoundUp(0.5f));
    }
}
