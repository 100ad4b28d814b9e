using System.Runtime.InteropServices;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using VllmSharp.Runtime.Tests.Loading;
using Xunit;

namespace VllmSharp.Runtime.Tests.TestModels;

public sealed class DummyWeightSourceTests
{
    private static byte[] Read(WeightMatrix m)
    {
        var bytes = new byte[m.SizeInBytes];
        Marshal.Copy(m.Data, bytes, 0, bytes.Length);
        return bytes;
    }

    public static TheoryData<string, DType> Cases()
    {
        var data = new TheoryData<string, DType>();
        foreach (string preset in new[] { "tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3" })
            foreach (DType type in new[] { DType.F32, DType.F16, DType.BF16 })
                data.Add(preset, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryTensor_SameSeed_EqualsWrittenModel(string presetName, DType dtype)
    {
        TestModelPreset preset = TestModelPresets.Get(presetName);
        using var dir = new TempDirectory();
        TestModelWriter.Write(preset, dtype, dir.Path, seed: 1234);
        using var written = SafetensorsWeightSource.Open(dir.Path, dtype);
        using var dummy = new DummyWeightSource(preset.Config, dtype, seed: 1234);

        foreach (TensorSpec spec in DecoderTensorLayout.Enumerate(preset.Config))
        {
            Assert.True(dummy.Contains(spec.Name));
            Assert.True(written.Contains(spec.Name));
            if (spec.Shape.Length == 2)
            {
                int rows = (int)spec.Shape[0], cols = (int)spec.Shape[1];
                Assert.Equal(Read(written.GetMatrix(spec.Name, rows, cols)), Read(dummy.GetMatrix(spec.Name, rows, cols)));
            }
            else
            {
                int n = (int)spec.Shape[0];
                Assert.Equal(written.GetVector(spec.Name, n), dummy.GetVector(spec.Name, n));
            }
        }
    }

    [Fact]
    public void GetMatrix_DifferentSeed_DiffersAndIsCached()
    {
        HfConfig c = TestModelPresets.TinyLlama.Config;
        using var a = new DummyWeightSource(c, DType.F32, seed: 1);
        using var b = new DummyWeightSource(c, DType.F32, seed: 2);
        const string name = "model.layers.0.mlp.up_proj.weight";
        WeightMatrix ma = a.GetMatrix(name, 128, 64);
        Assert.NotEqual(Read(ma), Read(b.GetMatrix(name, 128, 64)));
        Assert.Equal(ma, a.GetMatrix(name, 128, 64));
        Assert.Equal(0, ma.Data % 64);
    }

    [Fact]
    public void GetMatrix_UnknownTensorOrWrongShape_Throws()
    {
        using var dummy = new DummyWeightSource(TestModelPresets.TinyLlama.Config, DType.BF16, seed: 1);
        var missing = Assert.Throws<ModelLoadException>(() => dummy.GetMatrix("lm_head.weight", 512, 64));
        Assert.Contains("dummy weights", missing.Path);
        Assert.Contains("tensor 'lm_head.weight'", missing.Problem);
        var shape = Assert.Throws<ModelLoadException>(() => dummy.GetMatrix("model.embed_tokens.weight", 64, 512));
        Assert.Contains("has shape [512, 64] but the model expects [64, 512]", shape.Problem);
    }
}
