using VllmSharp.Kernels;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public class ActivationsTests
{
    // The vectorised exp is within ~2 ulp; with a division and two products the result stays within ~1e-6 relative.
    private const float RelTol = 4e-6f, AbsTol = 1e-7f;

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(33)]
    [InlineData(4864)]
    [InlineData(40_003)] // several chunks: parallel path with a ragged last chunk
    public void SiluAndMul_RandomInputs_MatchesReference(int length)
    {
        var rng = new Random(length);
        float[] gate = RandomArray(rng, length, 12f), up = RandomArray(rng, length, 3f);
        var expected = new float[length];
        var actual = new float[length];
        ReferenceActivations.SiluAndMul(gate, up, expected);
        Activations.SiluAndMul(gate, up, actual);
        AssertClose(expected, actual);
    }

    [Fact]
    public void SiluAndMul_ExtremeGates_FiniteAndCorrect()
    {
        float[] gate = [-200f, -90f, -20f, 0f, 20f, 90f, 200f, -1e30f, 1e30f, 0.5f, -0.5f, 3f, -3f, 7f, -7f, 1f, -1f];
        float[] up = new float[gate.Length];
        Array.Fill(up, 2f);
        var expected = new float[gate.Length];
        var actual = new float[gate.Length];
        ReferenceActivations.SiluAndMul(gate, up, expected);
        Activations.SiluAndMul(gate, up, actual);
        Assert.All(actual, v => Assert.True(float.IsFinite(v)));
        AssertClose(expected, actual);
    }

    [Fact]
    public void SiluAndMul_OutputAliasesGate_Works()
    {
        var rng = new Random(9);
        float[] gate = RandomArray(rng, 100, 4f), up = RandomArray(rng, 100, 1f);
        var expected = new float[100];
        Activations.SiluAndMul(gate, up, expected);
        Activations.SiluAndMul(gate, up, gate);
        Assert.Equal(expected, gate);
    }

    [Fact]
    public void SiluAndMul_LengthMismatch_Throws()
        => Assert.Throws<ArgumentException>(() => Activations.SiluAndMul(new float[4], new float[5], new float[4]));

    private static float[] RandomArray(Random rng, int length, float range)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * range;
        return a;
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= AbsTol + RelTol * Math.Abs(expected[i]),
                $"index {i}: expected {expected[i]}, got {actual[i]}");
    }
}
