using VllmSharp.Kernels;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public class RopeTests
{
    // One rotation is two f32 products and a sum per element: the kernel is within a few ulp of the double reference.
    private const float Tol = 2e-6f;

    [Theory]
    [InlineData(RopeStyle.Neox, 3, 4, 64, 64)]
    [InlineData(RopeStyle.Interleaved, 3, 4, 64, 64)]
    [InlineData(RopeStyle.Neox, 2, 3, 80, 32)]       // partial rotary: the last 48 dims pass through
    [InlineData(RopeStyle.Interleaved, 2, 3, 80, 32)]
    [InlineData(RopeStyle.Neox, 5, 2, 128, 128)]
    [InlineData(RopeStyle.Neox, 1, 1, 10, 6)]        // odd half (3): scalar tail only
    [InlineData(RopeStyle.Neox, 130, 16, 64, 64)]    // 133k rotated elements: parallel path
    [InlineData(RopeStyle.Interleaved, 130, 16, 64, 64)]
    public void Apply_RandomHeads_MatchesReference(RopeStyle style, int numTokens, int numHeads, int headDim, int rotaryDim)
    {
        var rng = new Random(numTokens * 31 + headDim);
        float[] invFreq = Rope.InverseFrequencies(rotaryDim, 10000.0);
        int[] positions = new int[numTokens];
        for (int t = 0; t < numTokens; t++) positions[t] = rng.Next(0, 40000);
        var cos = new float[numTokens * rotaryDim / 2];
        var sin = new float[cos.Length];
        Rope.ComputeCosSin(positions, invFreq, cos, sin);

        float[] x = RandomArray(rng, numTokens * numHeads * headDim);
        float[] expected = (float[])x.Clone();
        float[] original = (float[])x.Clone();
        ReferenceRope.Apply(expected, numHeads, headDim, cos, sin, style);
        Rope.Apply(x, numHeads, headDim, cos, sin, style);

        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - x[i]) <= Tol, $"index {i}: expected {expected[i]}, got {x[i]}");
            if (i % headDim >= rotaryDim) Assert.Equal(original[i], x[i]); // dims beyond rotaryDim are untouched
        }
    }

    [Theory]
    [InlineData(RopeStyle.Neox)]
    [InlineData(RopeStyle.Interleaved)]
    public void Apply_PositionZero_LeavesInputUnchanged(RopeStyle style)
    {
        var rng = new Random(1);
        float[] invFreq = Rope.InverseFrequencies(64, 500000.0);
        var cos = new float[32];
        var sin = new float[32];
        Rope.ComputeCosSin([0], invFreq, cos, sin);
        float[] x = RandomArray(rng, 4 * 64);
        float[] original = (float[])x.Clone();
        Rope.Apply(x, 4, 64, cos, sin, style);
        Assert.Equal(original, x); // cos = 1, sin = 0 exactly: a·1 − b·0 is a, bit for bit
    }

    [Theory]
    [InlineData(RopeStyle.Neox)]
    [InlineData(RopeStyle.Interleaved)]
    public void Apply_AnyPosition_PreservesPairNorms(RopeStyle style)
    {
        var rng = new Random(2);
        const int headDim = 64, half = 32;
        float[] invFreq = Rope.InverseFrequencies(headDim, 10000.0);
        var cos = new float[half];
        var sin = new float[half];
        Rope.ComputeCosSin([12345], invFreq, cos, sin);
        float[] x = RandomArray(rng, headDim);
        float[] before = (float[])x.Clone();
        Rope.Apply(x, 1, headDim, cos, sin, style);
        for (int i = 0; i < half; i++)
        {
            (int a, int b) = style == RopeStyle.Neox ? (i, i + half) : (2 * i, 2 * i + 1);
            double normBefore = Math.Sqrt(before[a] * (double)before[a] + before[b] * (double)before[b]);
            double normAfter = Math.Sqrt(x[a] * (double)x[a] + x[b] * (double)x[b]);
            Assert.True(Math.Abs(normBefore - normAfter) <= 1e-6, $"pair {i}: {normBefore} vs {normAfter}"); // f32 rounding only
        }
    }

    [Fact]
    public void InverseFrequencies_NoScaling_MatchesThetaPowers()
    {
        float[] f = Rope.InverseFrequencies(128, 1000000.0);
        Assert.Equal(64, f.Length);
        for (int i = 0; i < f.Length; i++)
        {
            double expected = Math.Exp(-Math.Log(1000000.0) * (2 * i) / 128.0);
            Assert.True(Math.Abs(f[i] - expected) <= 1e-7 * expected, $"i={i}"); // f32 rounding of the exact value
        }
    }

    [Fact]
    public void InverseFrequencies_Llama32Scaling_MatchesHfFormula()
    {
        // Llama-3.2-1B: head_dim 64, rope_theta 500000, rope_scaling llama3 factor 32, low 1, high 4, original 8192.
        var scaling = new Llama3RopeScaling(32f, 1f, 4f, 8192);
        float[] actual = Rope.InverseFrequencies(64, 500000.0, scaling);

        // Recomputed the way HF's _compute_llama3_parameters reads, as three explicit bands.
        const double lowFreqWavelen = 8192.0 / 1.0, highFreqWavelen = 8192.0 / 4.0;
        int kept = 0, divided = 0, blended = 0;
        for (int i = 0; i < 32; i++)
        {
            double baseFreq = 1.0 / Math.Pow(500000.0, i * 2 / 64.0);
            double wavelen = 2 * Math.PI / baseFreq;
            double expected;
            if (wavelen < highFreqWavelen) { expected = baseFreq; kept++; }
            else if (wavelen > lowFreqWavelen) { expected = baseFreq / 32.0; divided++; }
            else
            {
                double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
                expected = (1 - smooth) * (baseFreq / 32.0) + smooth * baseFreq;
                blended++;
            }
            // HF evaluates this in f32 tensors; 1e-6 relative is a few f32 ulp yet far below any band mix-up (≥ 3%).
            Assert.True(Math.Abs(actual[i] - expected) <= 1e-6 * expected, $"i={i}: expected {expected}, got {actual[i]}");
        }
        Assert.Equal(1f, actual[0]);
        Assert.True(kept > 0 && divided > 0 && blended > 0, $"bands kept {kept}, divided {divided}, blended {blended}");
    }

    [Fact]
    public void ComputeCosSin_Position128k_AccurateAngles()
    {
        float[] invFreq = [1f, 0.5f, 0.0001f, 3.3f];
        int[] positions = [0, 1, 131071, 100003];
        var cos = new float[16];
        var sin = new float[16];
        Rope.ComputeCosSin(positions, invFreq, cos, sin);
        for (int t = 0; t < positions.Length; t++)
            for (int i = 0; i < invFreq.Length; i++)
            {
                double angle = positions[t] * (double)invFreq[i];
                // Only the final f32 rounding may differ: an f32 angle at 131071 rad would be off by ~4e-3.
                Assert.True(Math.Abs(cos[t * 4 + i] - Math.Cos(angle)) <= 1e-7, $"cos t={t} i={i}");
                Assert.True(Math.Abs(sin[t * 4 + i] - Math.Sin(angle)) <= 1e-7, $"sin t={t} i={i}");
            }
    }

    [Fact]
    public void ComputeCosSin_LargeTable_ParallelPathMatchesReference()
    {
        float[] invFreq = Rope.InverseFrequencies(64, 500000.0, new Llama3RopeScaling(32f, 1f, 4f, 8192));
        var positions = new int[300]; // 9600 angles: above the parallel threshold
        for (int t = 0; t < positions.Length; t++) positions[t] = t * 437;
        var cos = new float[300 * 32];
        var sin = new float[cos.Length];
        var expectedCos = new float[cos.Length];
        var expectedSin = new float[cos.Length];
        Rope.ComputeCosSin(positions, invFreq, cos, sin);
        ReferenceRope.ComputeCosSin(positions, invFreq, expectedCos, expectedSin);
        for (int i = 0; i < cos.Length; i++)
        {
            // Both round a double result to f32; they may differ by one f32 ulp at most (≤ 6e-8 for |v| ≤ 1).
            Assert.True(Math.Abs(expectedCos[i] - cos[i]) <= 1e-7f, $"cos {i}");
            Assert.True(Math.Abs(expectedSin[i] - sin[i]) <= 1e-7f, $"sin {i}");
        }
    }

    [Fact]
    public void Apply_CosNotMatchingTokens_Throws()
    {
        Assert.Throws<ArgumentException>(() => Rope.Apply(new float[2 * 64], 1, 64, new float[33], new float[33], RopeStyle.Neox));
        Assert.Throws<ArgumentException>(() => Rope.Apply(new float[64], 1, 64, new float[40], new float[40], RopeStyle.Neox));
        Assert.Throws<ArgumentException>(() => Rope.Apply(new float[64], 1, 64, new float[32], new float[31], RopeStyle.Neox));
    }

    private static float[] RandomArray(Random rng, int length)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }
}
