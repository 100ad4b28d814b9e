using System.Runtime.InteropServices;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading;

public sealed class SafetensorsWeightSourceTests
{
    // Independent conversions (bit-level, round to nearest even; Half's cast is IEEE RNE) to check loaded values.
    private static float ToFloat(ReadOnlySpan<byte> bytes, DType type) => type switch
    {
        DType.F32 => BitConverter.ToSingle(bytes),
        DType.F16 => (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(bytes)),
        _ => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(bytes) << 16),
    };

    private static void FromFloat(float f, DType type, Span<byte> dst)
    {
        switch (type)
        {
            case DType.F32: BitConverter.TryWriteBytes(dst, f); break;
            case DType.F16: BitConverter.TryWriteBytes(dst, BitConverter.HalfToUInt16Bits((Half)f)); break;
            default:
                uint bits = BitConverter.SingleToUInt32Bits(f);
                bits += 0x7FFF + ((bits >> 16) & 1); // round to nearest even on the dropped 16 bits (values are finite)
                BitConverter.TryWriteBytes(dst, (ushort)(bits >> 16));
                break;
        }
    }

    private static byte[] Read(nint data, long bytes)
    {
        var result = new byte[bytes];
        Marshal.Copy(data, result, 0, result.Length);
        return result;
    }

    [Theory]
    [InlineData(DType.F32, DType.F32)]
    [InlineData(DType.F32, DType.F16)]
    [InlineData(DType.F32, DType.BF16)]
    [InlineData(DType.F16, DType.F32)]
    [InlineData(DType.F16, DType.F16)]
    [InlineData(DType.F16, DType.BF16)]
    [InlineData(DType.BF16, DType.F32)]
    [InlineData(DType.BF16, DType.F16)]
    [InlineData(DType.BF16, DType.BF16)]
    public void GetMatrix_StoredVersusRunDtype_InPlaceOrConvertedExactly(DType stored, DType run)
    {
        using var dir = new TempDirectory();
        TestModelWriter.Write(TestModelPresets.TinyQwen2, stored, dir.Path, seed: 11);
        using var source = SafetensorsWeightSource.Open(dir.Path, run);
        Assert.Equal(run, source.DType);
        HfConfig c = TestModelPresets.TinyQwen2.Config;
        const string name = "model.layers.1.mlp.down_proj.weight";
        TensorInfo info = source.Checkpoint.GetTensor(name);
        WeightMatrix m = source.GetMatrix(name, c.HiddenSize, c.IntermediateSize);

        Assert.Equal((run, c.HiddenSize, c.IntermediateSize), (m.Type, m.Rows, m.Cols));
        if (stored == run)
        {
            Assert.Equal(info.Data, m.Data); // used in place from the mapping
            Assert.Equal(0, source.ConvertedBytes);
            return;
        }
        Assert.Equal(0, m.Data % 64);
        Assert.Equal(m.SizeInBytes, source.ConvertedBytes);
        Assert.Equal(m, source.GetMatrix(name, c.HiddenSize, c.IntermediateSize)); // converted once, then cached

        byte[] src = Read(info.Data, info.ByteLength), got = Read(m.Data, m.SizeInBytes);
        int ss = stored.SizeInBytes(), rs = run.SizeInBytes();
        var expected = new byte[got.Length];
        for (int i = 0; i < got.Length / rs; i++)
            FromFloat(ToFloat(src.AsSpan(i * ss, ss), stored), run, expected.AsSpan(i * rs, rs));
        Assert.Equal(expected, got);

        // The same values as the kernels' own conversion gives.
        var viaKernels = new float[got.Length / rs];
        DTypeConvert.ToSingle(info.Data, stored, viaKernels);
        using var kernelsResult = new NativeArray(got.Length);
        DTypeConvert.FromSingle(viaKernels, run, kernelsResult.Address);
        Assert.Equal(got, kernelsResult.ToArray());
    }

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void GetVector_NormsAndBiases_ReturnStoredValuesAsFloat(DType stored)
    {
        using var dir = new TempDirectory();
        TestModelWriter.Write(TestModelPresets.TinyQwen2, stored, dir.Path, seed: 5);
        using var source = SafetensorsWeightSource.Open(dir.Path, DType.F32);
        Assert.All(source.GetVector("model.norm.weight", 64), v => Assert.Equal(1.0f, v));
        const string bias = "model.layers.0.self_attn.k_proj.bias";
        float[] b = source.GetVector(bias, 32);
        TensorInfo info = source.Checkpoint.GetTensor(bias);
        byte[] raw = Read(info.Data, info.ByteLength);
        for (int i = 0; i < b.Length; i++) Assert.Equal(ToFloat(raw.AsSpan(i * 2, 2), stored), b[i]);
        Assert.Contains(b, v => v != 0);
    }

    [Fact]
    public void GetMatrix_WrongShape_ThrowsNamingFileAndTensor()
    {
        using var dir = new TempDirectory();
        TestModelWriter.Write(TestModelPresets.TinyLlama, DType.BF16, dir.Path, seed: 1);
        using var source = SafetensorsWeightSource.Open(dir.Path, DType.BF16);
        var e = Assert.Throws<ModelLoadException>(() => source.GetMatrix("model.layers.0.self_attn.k_proj.weight", 64, 64));
        Assert.Equal(dir.File("model.safetensors"), e.Path);
        Assert.Equal("tensor 'model.layers.0.self_attn.k_proj.weight' has shape [32, 64] but the model expects [64, 64]", e.Problem);
        var e2 = Assert.Throws<ModelLoadException>(() => source.GetVector("model.norm.weight", 65));
        Assert.Contains("tensor 'model.norm.weight' has shape [64] but the model expects [65]", e2.Message);
    }

    [Fact]
    public void GetMatrix_MissingTensor_ThrowsNamingFileAndTensor()
    {
        using var dir = new TempDirectory();
        TestModelWriter.Write(TestModelPresets.TinyLlama, DType.BF16, dir.Path, seed: 1);
        using var source = SafetensorsWeightSource.Open(dir.Path, DType.BF16);
        Assert.False(source.Contains("lm_head.weight")); // tied
        var e = Assert.Throws<ModelLoadException>(() => source.GetMatrix("lm_head.weight", 512, 64));
        Assert.Equal(dir.File("model.safetensors"), e.Path);
        Assert.Contains("tensor 'lm_head.weight' not found", e.Problem);
    }

    [Fact]
    public void GetMatrix_UnsupportedDtype_ThrowsNamingFileAndTensor()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("model.safetensors"), RawSafetensors.Build(
            """{"model.embed_tokens.weight":{"dtype":"I8","shape":[4,2],"data_offsets":[0,8]}}""", new byte[8]));
        using var source = SafetensorsWeightSource.Open(dir.Path, DType.BF16);
        var e = Assert.Throws<ModelLoadException>(() => source.GetMatrix("model.embed_tokens.weight", 4, 2));
        Assert.Equal(dir.File("model.safetensors"), e.Path);
        Assert.Contains("tensor 'model.embed_tokens.weight' has dtype I8, which is not supported", e.Problem);
    }

    /// <summary>A little owned native memory for calling the nint-based kernels' API.</summary>
    private sealed class NativeArray(int bytes) : IDisposable
    {
        public nint Address { get; } = Marshal.AllocHGlobal(bytes);
        public byte[] ToArray() => Read(Address, bytes);
        public void Dispose() => Marshal.FreeHGlobal(Address);
    }
}
