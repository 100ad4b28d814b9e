using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public sealed unsafe class DTypeConvertTests
{
    private static ushort[] AllPatterns()
    {
        ushort[] all = new ushort[65536];
        for (int i = 0; i < all.Length; i++) all[i] = (ushort)i;
        return all;
    }

    [Fact]
    public void ToSingle_AllF16Patterns_MatchSystemHalf()
    {
        ushort[] bits = AllPatterns();
        float[] actual = new float[bits.Length];
        fixed (ushort* p = bits) DTypeConvert.ToSingle((nint)p, DType.F16, actual);
        for (int i = 0; i < bits.Length; i++)
            AssertSameValue((float)BitConverter.UInt16BitsToHalf(bits[i]), actual[i], $"f16 0x{i:X4}");
    }

    [Fact]
    public void ToSingle_AllBf16Patterns_MatchShiftedBits()
    {
        ushort[] bits = AllPatterns();
        float[] actual = new float[bits.Length];
        fixed (ushort* p = bits) DTypeConvert.ToSingle((nint)p, DType.BF16, actual);
        for (int i = 0; i < bits.Length; i++)
            AssertSameValue(BitConverter.UInt32BitsToSingle((uint)i << 16), actual[i], $"bf16 0x{i:X4}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void VectorLoads_AllF16AndBf16PatternsOnEveryTier_MatchReference(int tier)
    {
        // The kernels' in-register conversions per ISA tier (DTypeConvert.ToSingle only exercises the widest one).
        if (tier == 3 && !Vector512.IsHardwareAccelerated || tier == 2 && !Vector256.IsHardwareAccelerated) return;
        ushort[] bits = AllPatterns();
        float[] f16 = new float[bits.Length], bf16 = new float[bits.Length];
        fixed (ushort* p = bits)
        fixed (float* d16 = f16, db16 = bf16)
        {
            byte* src = (byte*)p;
            switch (tier)
            {
                case 3:
                    MatMul.ConvertRow<MatMul.Ops512, Vector512<float>, MatMul.LoadF16>(src, bits.Length, d16);
                    MatMul.ConvertRow<MatMul.Ops512, Vector512<float>, MatMul.LoadBf16>(src, bits.Length, db16);
                    break;
                case 2:
                    MatMul.ConvertRow<MatMul.Ops256, Vector256<float>, MatMul.LoadF16>(src, bits.Length, d16);
                    MatMul.ConvertRow<MatMul.Ops256, Vector256<float>, MatMul.LoadBf16>(src, bits.Length, db16);
                    break;
                default:
                    MatMul.ConvertRow<MatMul.OpsScalar, float, MatMul.LoadF16>(src, bits.Length, d16);
                    MatMul.ConvertRow<MatMul.OpsScalar, float, MatMul.LoadBf16>(src, bits.Length, db16);
                    break;
            }
        }
        for (int i = 0; i < bits.Length; i++)
        {
            AssertSameValue((float)BitConverter.UInt16BitsToHalf((ushort)i), f16[i], $"tier {tier} f16 0x{i:X4}");
            AssertSameValue(BitConverter.UInt32BitsToSingle((uint)i << 16), bf16[i], $"tier {tier} bf16 0x{i:X4}");
        }
    }

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void FromSingle_EveryPatternAndEveryMidpoint_MatchesReferenceRounding(DType type)
    {
        // All representable values (must round-trip) plus the exact midpoints between neighbours (ties to even) and
        // points just either side of each midpoint: this walks every rounding decision of the format.
        var inputs = new List<float>(65536 * 4);
        for (int h = 0; h < 65536; h++)
        {
            float v = Decode(type, (ushort)h);
            inputs.Add(v);
            if (float.IsNaN(v) || float.IsInfinity(v)) continue;
            float next = Decode(type, (ushort)(h + 1));
            if ((h & 0x7FFF) == 0x7FFF || float.IsNaN(next)) continue;
            if (float.IsInfinity(next)) next = type == DType.F16 ? MathF.CopySign(65536f, v) : MathF.CopySign(float.MaxValue, v);
            float mid = (float)(((double)v + next) / 2);
            inputs.Add(mid);
            inputs.Add(MathF.BitIncrement(mid));
            inputs.Add(MathF.BitDecrement(mid));
        }
        var rng = new Random(3);
        for (int i = 0; i < 100_000; i++) inputs.Add(BitConverter.Int32BitsToSingle(rng.Next() ^ (rng.Next(2) << 31)));
        inputs.AddRange([float.MaxValue, -float.MaxValue, float.Epsilon, 65519.996f, 65520f, 1e-8f, 2.9802322e-8f]);

        float[] src = inputs.ToArray();
        ushort[] actual = new ushort[src.Length], expected = new ushort[src.Length];
        fixed (ushort* pa = actual, pe = expected)
        {
            DTypeConvert.FromSingle(src, type, (nint)pa);
            ReferenceConvert.FromSingle(src, type, (nint)pe);
        }
        for (int i = 0; i < src.Length; i++)
        {
            if (float.IsNaN(src[i]))
                Assert.True(float.IsNaN(Decode(type, actual[i])), $"{type}: NaN 0x{BitConverter.SingleToUInt32Bits(src[i]):X8} lost");
            else
                Assert.True(expected[i] == actual[i], $"{type}: {src[i]:R} → 0x{actual[i]:X4}, expected 0x{expected[i]:X4}");
        }
    }

    [Theory]
    [InlineData(1.00390625f, 0x3F80)]  // 1 + 2^-8: tie between 1 and 1+2^-7, even is 1
    [InlineData(1.01171875f, 0x3F82)]  // 1 + 3·2^-8: tie, even is 1 + 2^-6
    [InlineData(1.0039065f, 0x3F81)]   // just above the tie
    [InlineData(3.4028235e38f, 0x7F80)] // f32 max rounds up to inf in bf16
    [InlineData(-0f, 0x8000)]
    public void FromSingle_Bf16KnownValues_RoundToNearestEven(float value, int expectedBits)
    {
        ushort bits;
        DTypeConvert.FromSingle([value], DType.BF16, (nint)(&bits));
        Assert.Equal((ushort)expectedBits, bits);
    }

    [Fact]
    public void ToSingleAndFromSingle_F32_CopyExactly()
    {
        float[] src = [1.5f, -0f, float.NaN, float.PositiveInfinity, 1e-42f];
        float[] mid = new float[src.Length], back = new float[src.Length];
        fixed (float* pm = mid)
        {
            DTypeConvert.FromSingle(src, DType.F32, (nint)pm);
            DTypeConvert.ToSingle((nint)pm, DType.F32, back);
        }
        for (int i = 0; i < src.Length; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(src[i]), BitConverter.SingleToUInt32Bits(back[i]));
    }

    private static float Decode(DType type, ushort bits)
    {
        float v;
        ReferenceConvert.ToSingle((nint)(&bits), type, new Span<float>(&v, 1));
        return v;
    }

    private static void AssertSameValue(float expected, float actual, string what)
    {
        if (float.IsNaN(expected)) Assert.True(float.IsNaN(actual), $"{what}: expected NaN, got {actual}");
        else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual),
            $"{what}: expected {expected:R}, got {actual:R}");
    }
}
