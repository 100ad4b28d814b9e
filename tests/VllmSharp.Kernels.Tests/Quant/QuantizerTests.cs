using VllmSharp.Kernels.Quant;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

public sealed class QuantizerTests
{
    [Theory]
    [InlineData(QuantType.Q8_0, 32, 34)]
    [InlineData(QuantType.Q4_0, 32, 18)]
    [InlineData(QuantType.Q4_K, 256, 144)]
    [InlineData(QuantType.Q6_K, 256, 210)]
    [InlineData(QuantType.Q5_0, 32, 22)]
    public void QuantFormat_EachType_MatchesGgmlBlockSizes(QuantType type, int elements, int bytes)
    {
        Assert.Equal(elements, QuantFormat.BlockElements(type));
        Assert.Equal(bytes, QuantFormat.BlockBytes(type));
        Assert.Equal(3L * bytes, QuantFormat.RowBytes(type, 3 * elements));
        Assert.Throws<ArgumentException>(() => QuantFormat.RowBytes(type, elements + 16));
    }

    [Fact]
    public void RoundTrip_Q8_0_ErrorAtMostHalfStep()
    {
        // Codes are rounded to nearest with the stored (f16) scale d, and amax/d ≤ 127·(1 + 2^-11) rounds to ≤ 127,
        // so every element is within d/2 (+ f32 rounding of x·(1/d)).
        var rng = new Random(11);
        float[] w = QuantTestData.Weights(rng, 32 * 64);
        byte[] q = QuantTestData.Quantize(w, QuantType.Q8_0);
        float[] back = new float[w.Length];
        Quantizer.Dequantize(q, QuantType.Q8_0, back);
        for (int i = 0; i < w.Length; i++)
        {
            float d = HalfBits.Read(q, i / 32 * 34);
            Assert.True(MathF.Abs(back[i] - w[i]) <= d * 0.5001f, $"element {i}: {w[i]} -> {back[i]}, d={d}");
        }
    }

    [Fact]
    public void RoundTrip_Q4_0_ErrorAtMostHalfStepExceptClampedTop()
    {
        // As llama.cpp, the largest-magnitude value maps to code 0 (−8·d) and codes stop at 15 (+7·d): elements
        // within the top half step (x/d > 7.5) are clamped and off by at most d; all others by at most d/2.
        var rng = new Random(12);
        float[] w = QuantTestData.Weights(rng, 32 * 64);
        byte[] q = QuantTestData.Quantize(w, QuantType.Q4_0);
        float[] back = new float[w.Length];
        Quantizer.Dequantize(q, QuantType.Q4_0, back);
        for (int i = 0; i < w.Length; i++)
        {
            float d = MathF.Abs(HalfBits.Read(q, i / 32 * 18));
            float bound = w[i] / HalfBits.Read(q, i / 32 * 18) > 7.5f ? d : d * 0.5001f;
            Assert.True(MathF.Abs(back[i] - w[i]) <= bound, $"element {i}: {w[i]} -> {back[i]}, d={d}");
        }
    }

    [Fact]
    public void RoundTrip_Q5_0_ErrorAtMostHalfStepExceptClampedTop()
    {
        // As Q4_0 with 32 codes: the largest-magnitude value maps to code 0 (−16·d), codes stop at 31 (+15·d), so
        // elements with x/d > 15.5 are clamped and off by at most d; all others by at most d/2.
        var rng = new Random(13);
        float[] w = QuantTestData.Weights(rng, 32 * 64);
        byte[] q = QuantTestData.Quantize(w, QuantType.Q5_0);
        float[] back = new float[w.Length];
        Quantizer.Dequantize(q, QuantType.Q5_0, back);
        for (int i = 0; i < w.Length; i++)
        {
            float d = MathF.Abs(HalfBits.Read(q, i / 32 * 22));
            float bound = w[i] / HalfBits.Read(q, i / 32 * 22) > 15.5f ? d : d * 0.5001f;
            Assert.True(MathF.Abs(back[i] - w[i]) <= bound, $"element {i}: {w[i]} -> {back[i]}, d={d}");
        }
    }

    [Theory]
    [InlineData(QuantType.Q4_K)]
    [InlineData(QuantType.Q6_K)]
    public void RoundTrip_KQuants_ErrorAtMostHalfSubBlockStep(QuantType type)
    {
        // The K-quantizer rounds every scale up so each sub-block's range is covered: error ≤ step/2 with
        // step = d·sc of the element's sub-block, plus f32 rounding (1e-6 relative to the values involved).
        var rng = new Random(13 + (int)type);
        float[] w = QuantTestData.Weights(rng, 256 * 16);
        byte[] q = QuantTestData.Quantize(w, type);
        float[] back = new float[w.Length];
        Quantizer.Dequantize(q, type, back);
        float worstRelative = 0;
        for (int i = 0; i < w.Length; i++)
        {
            float step = SubBlockStep(q, type, i);
            float err = MathF.Abs(back[i] - w[i]);
            Assert.True(err <= step * 0.5f + 1e-6f * (MathF.Abs(w[i]) + MathF.Abs(back[i]) + step * 64),
                $"{type} element {i}: {w[i]} -> {back[i]}, step={step}");
            worstRelative = MathF.Max(worstRelative, err / step);
        }
        Assert.True(worstRelative > 0.3f, "the bound should be nearly reached somewhere, else the check is vacuous");
    }

    private static float SubBlockStep(byte[] q, QuantType type, int i)
    {
        if (type == QuantType.Q4_K)
        {
            int blk = i / 256 * 144;
            (int sc, _) = KQuantizer.ScaleMin(q.AsSpan(blk + 4, 12), i % 256 / 32);
            return HalfBits.Read(q, blk) * sc;
        }
        int b6 = i / 256 * 210;
        return HalfBits.Read(q, b6 + 208) * (sbyte)q[b6 + 192 + i % 256 / 16];
    }

    [Theory]
    [InlineData(QuantType.Q8_0)]
    [InlineData(QuantType.Q4_0)]
    [InlineData(QuantType.Q4_K)]
    [InlineData(QuantType.Q6_K)]
    [InlineData(QuantType.Q5_0)]
    public void Dequantize_RandomBlocks_MatchesElementwiseReference(QuantType type)
    {
        // Arbitrary bytes (not only what our quantizer writes), with finite f16 scales: both decoders must agree exactly.
        var rng = new Random(21 + (int)type);
        int n = QuantFormat.BlockElements(type) * 5;
        byte[] q = new byte[QuantFormat.RowBytes(type, n)];
        rng.NextBytes(q);
        int bb = QuantFormat.BlockBytes(type);
        for (int b = 0; b < 5; b++)
        {
            int[] scaleOffsets = type switch { QuantType.Q4_K => [0, 2], QuantType.Q6_K => [208], _ => [0] };
            foreach (int off in scaleOffsets) HalfBits.Write(q, b * bb + off, (float)(rng.NextDouble() * 2 - 1));
        }
        float[] fast = new float[n], reference = new float[n];
        Quantizer.Dequantize(q, type, fast);
        ReferenceQuant.Dequantize(q, type, reference);
        Assert.Equal(reference, fast);
    }

    [Fact]
    public void Quantize_ZeroBlock_DequantizesToZeros()
    {
        foreach (QuantType type in QuantTestData.AllTypes)
        {
            float[] zeros = new float[256];
            float[] back = new float[256];
            Quantizer.Dequantize(QuantTestData.Quantize(zeros, type), type, back);
            Assert.All(back, v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Quantize_WrongLengths_Throw()
    {
        Assert.Throws<ArgumentException>(() => Quantizer.Quantize(new float[40], QuantType.Q8_0, new byte[68]));
        Assert.Throws<ArgumentException>(() => Quantizer.Quantize(new float[256], QuantType.Q4_K, new byte[143]));
        Assert.Throws<ArgumentException>(() => Quantizer.Dequantize(new byte[209], QuantType.Q6_K, new float[256]));
    }
}
