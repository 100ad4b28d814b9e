using System.Runtime.InteropServices;
using System.Text;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.TestModels;

public sealed class SeededWeightGeneratorTests
{
    /// <summary>The documented scheme written out again, so a change to the generator cannot go unnoticed.</summary>
    private static float Reference(ulong seed, string name, long index)
    {
        static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name)) h = (h ^ b) * 1099511628211UL;
        ulong key = Mix(seed ^ h);
        ulong z = Mix(key + (ulong)(index + 1) * 0x9E3779B97F4A7C15UL);
        double u = (z >> 40) / 16777216.0;
        return (float)((2 * u - 1) * (float)(0.02 * Math.Sqrt(3)));
    }

    [Fact]
    public void Generate_F32Range_MatchesDocumentedScheme()
    {
        var spec = new TensorSpec("model.layers.3.self_attn.q_proj.weight", [300, 1000], TensorRole.Linear);
        const long first = 123_456, count = 70_000; // spans two parallel chunks at an odd offset
        nint buffer = Marshal.AllocHGlobal((nint)(count * 4));
        try
        {
            SeededWeightGenerator.Generate(99, spec, first, count, DType.F32, buffer);
            var values = new float[count];
            Marshal.Copy(buffer, values, 0, values.Length);
            for (long i = 0; i < count; i += 997)
                Assert.Equal(Reference(99, spec.Name, first + i), values[i]);
            Assert.Equal(Reference(99, spec.Name, first + count - 1), values[^1]);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }

    [Fact]
    public void Sample_LinearWeights_UniformWithStd002()
    {
        ulong key = SeededWeightGenerator.TensorKey(5, "w");
        const int n = 1_000_000;
        double sum = 0, sumSq = 0, max = 0;
        for (int i = 0; i < n; i++)
        {
            double v = SeededWeightGenerator.Sample(key, TensorRole.Linear, i);
            sum += v;
            sumSq += v * v;
            max = Math.Max(max, Math.Abs(v));
        }
        double mean = sum / n, std = Math.Sqrt(sumSq / n - mean * mean);
        // Standard error of the mean is 0.02/1000 = 2e-5 and of the std about 1e-5: 10σ bounds.
        Assert.InRange(mean, -2e-4, 2e-4);
        Assert.InRange(std, 0.0199, 0.0201);
        Assert.InRange(max, 0.0340, 0.02 * Math.Sqrt(3)); // uniform on [-0.0346, 0.0346]
    }

    [Fact]
    public void Sample_Norm_IsOne() =>
        Assert.Equal(1.0f, SeededWeightGenerator.Sample(SeededWeightGenerator.TensorKey(1, "n"), TensorRole.Norm, 17));

    [Fact]
    public void TensorKey_DependsOnSeedAndName()
    {
        Assert.NotEqual(SeededWeightGenerator.TensorKey(1, "a"), SeededWeightGenerator.TensorKey(2, "a"));
        Assert.NotEqual(SeededWeightGenerator.TensorKey(1, "a"), SeededWeightGenerator.TensorKey(1, "b"));
        Assert.Equal(SeededWeightGenerator.TensorKey(1, "a"), SeededWeightGenerator.TensorKey(1, "a"));
    }
}
