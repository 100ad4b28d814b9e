using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using VllmSharp.Runtime.Tests.Loading;
using Xunit;

namespace VllmSharp.Runtime.Tests.TestModels;

public sealed class TestModelWriterTests
{
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void Write_TinyQwen3_LoadsBackWithConfigAndEveryTensorByteExact(DType dtype)
    {
        using var dir = new TempDirectory();
        TestModelPreset preset = TestModelPresets.TinyQwen3;
        TestModelWriter.Write(preset, dtype, dir.Path, seed: 77);

        HfConfig loaded = HfConfig.Load(dir.Path);
        Assert.Equal(preset.Config with { TorchDtype = dtype, SourcePath = dir.File("config.json"), Architectures = [], EosTokenIds = [] },
            loaded with { Architectures = [], EosTokenIds = [] });
        Assert.Equal(dtype, loaded.TorchDtype);

        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        IReadOnlyList<TensorSpec> specs = DecoderTensorLayout.Enumerate(loaded);
        Assert.Equal(specs.Count, checkpoint.TensorCount);
        int size = dtype.SizeInBytes();
        var expected = new float[1];
        foreach (TensorSpec spec in specs)
        {
            TensorInfo t = checkpoint.GetTensor(spec.Name);
            Assert.Equal(spec.Shape, t.Shape);
            Assert.Equal(dtype, t.Type);
            var bytes = new byte[t.ByteLength];
            Marshal.Copy(t.Data, bytes, 0, bytes.Length);
            // Every element equals the seeded value rounded to the dtype by the kernels' conversion.
            ulong key = SeededWeightGenerator.TensorKey(77, spec.Name);
            nint one = Marshal.AllocHGlobal(4);
            try
            {
                for (long i = 0; i < t.ElementCount; i++)
                {
                    expected[0] = SeededWeightGenerator.Sample(key, spec.Role, i);
                    DTypeConvert.FromSingle(expected, dtype, one);
                    for (int b = 0; b < size; b++)
                        if (Marshal.ReadByte(one, b) != bytes[i * size + b])
                            Assert.Fail($"{spec.Name}[{i}] differs from the generator");
                }
            }
            finally
            {
                Marshal.FreeHGlobal(one);
            }
        }
    }

    [Fact]
    public void Write_GenerationConfig_HasPresetSpecialTokens()
    {
        using var dir = new TempDirectory();
        TestModelWriter.Write(TestModelPresets.TinyQwen3, DType.BF16, dir.Path, seed: 1, vocabSize: 151936);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(dir.File("generation_config.json")));
        Assert.Equal(151643, doc.RootElement.GetProperty("bos_token_id").GetInt32());
        Assert.Equal(151645, doc.RootElement.GetProperty("eos_token_id").GetInt32());
        HfConfig c = HfConfig.Load(dir.Path);
        Assert.Equal(151936, c.VocabSize);
        Assert.Equal(151643, c.BosTokenId);
    }

    [Fact]
    public void Write_OverExistingShardedModel_LeavesOnlyNewWeights()
    {
        using var dir = new TempDirectory();
        TestModelWriter.Write(TestModelPresets.TinyMistral, DType.F32, dir.Path, seed: 1, maxShardBytes: 100_000);
        Assert.True(File.Exists(dir.File(SafetensorsCheckpoint.IndexFileName)));
        TestModelWriter.Write(TestModelPresets.TinyMistral, DType.F32, dir.Path, seed: 2);
        Assert.False(File.Exists(dir.File(SafetensorsCheckpoint.IndexFileName)));
        Assert.Equal([dir.File("model.safetensors")], Directory.GetFiles(dir.Path, "*.safetensors"));
    }

    [Fact]
    public void Write_HeaderRecordsSeedAndFormat()
    {
        using var dir = new TempDirectory();
        TestModelWriter.Write(TestModelPresets.TinyLlama, DType.BF16, dir.Path, seed: 42);
        using var file = SafetensorsFile.Open(dir.File("model.safetensors"));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("42", file.Metadata["vllmsharp.seed"]);
    }

    /// <summary>
    /// Writes the real Qwen2.5-0.5B shape (≈1 GB in bf16), then loads every matrix converted to f16; run on
    /// request to measure the writer and the converting loader.
    /// </summary>
    [Fact(Explicit = true)]
    public void Write_Qwen25HalfBillionBf16_TakesSeconds()
    {
        using var dir = new TempDirectory();
        TestModelPreset preset = TestModelPresets.Qwen25_05B;
        var clock = Stopwatch.StartNew();
        TestModelWriter.Write(preset, DType.BF16, dir.Path, seed: 0);
        double writeSeconds = clock.Elapsed.TotalSeconds;
        string path = dir.File("model.safetensors");
        long bytes = new FileInfo(path).Length;

        clock.Restart();
        long converted = 0;
        using (var source = SafetensorsWeightSource.Open(dir.Path, DType.F16))
        {
            foreach (TensorSpec spec in DecoderTensorLayout.Enumerate(preset.Config))
                if (spec.Shape.Length == 2) source.GetMatrix(spec.Name, (int)spec.Shape[0], (int)spec.Shape[1]);
            converted = source.ConvertedBytes;
        }
        double loadSeconds = clock.Elapsed.TotalSeconds;
        TestContext.Current.SendDiagnosticMessage(
            $"wrote {bytes / 1e9:F3} GB in {writeSeconds:F2} s; loaded and converted {converted / 1e9:F3} GB bf16->f16 in {loadSeconds:F2} s");

        var header = new byte[8];
        using (FileStream f = File.OpenRead(path)) f.ReadExactly(header);
        Assert.Equal(preset.ParameterCount * 2, bytes - 8 - (long)BitConverter.ToUInt64(header));
    }
}
