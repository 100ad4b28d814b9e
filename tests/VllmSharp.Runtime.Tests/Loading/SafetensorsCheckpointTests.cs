using System.Runtime.InteropServices;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading;

public sealed class SafetensorsCheckpointTests
{
    private static byte[] Bytes(TensorInfo t)
    {
        var bytes = new byte[t.ByteLength];
        Marshal.Copy(t.Data, bytes, 0, bytes.Length);
        return bytes;
    }

    [Fact]
    public void Open_ShardedModel_FindsEveryTensorWithSameBytesAsSingleFile()
    {
        using var single = new TempDirectory();
        using var sharded = new TempDirectory();
        TestModelPreset preset = TestModelPresets.TinyLlama;
        TestModelWriter.Write(preset, DType.BF16, single.Path, seed: 3);
        IReadOnlyList<string> shards = TestModelWriter.Write(preset, DType.BF16, sharded.Path, seed: 3, maxShardBytes: 40_000);

        Assert.True(shards.Count > 2, $"expected several shards, got {shards.Count}");
        Assert.True(File.Exists(sharded.File(SafetensorsCheckpoint.IndexFileName)));
        Assert.False(File.Exists(sharded.File(SafetensorsCheckpoint.SingleFileName)));
        using var a = SafetensorsCheckpoint.Open(single.Path);
        using var b = SafetensorsCheckpoint.Open(sharded.Path);
        Assert.Equal(shards.Count, b.Files.Count);
        IReadOnlyList<TensorSpec> specs = DecoderTensorLayout.Enumerate(preset.Config);
        Assert.Equal(specs.Count, b.TensorCount);
        foreach (TensorSpec spec in specs)
        {
            TensorInfo ta = a.GetTensor(spec.Name), tb = b.GetTensor(spec.Name);
            Assert.Equal(spec.Shape, tb.Shape);
            Assert.Equal(Bytes(ta), Bytes(tb));
        }
    }

    [Fact]
    public void Open_SeveralFilesWithoutIndex_FindsTensorsInAll()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("part-a.safetensors"), RawSafetensors.Build(
            """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", BitConverter.GetBytes(1.5f)));
        File.WriteAllBytes(dir.File("part-b.safetensors"), RawSafetensors.Build(
            """{"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", BitConverter.GetBytes(2.5f)));
        using var c = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(2, c.Files.Count);
        Assert.Equal(dir.File("part-b.safetensors"), c.GetTensor("y").File);
        Assert.Equal([2.5f], MemoryMarshal.Cast<byte, float>(Bytes(c.GetTensor("y"))).ToArray());
    }

    [Fact]
    public void Open_SameTensorInTwoFiles_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawSafetensors.Build("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        File.WriteAllBytes(dir.File("a.safetensors"), bytes);
        File.WriteAllBytes(dir.File("b.safetensors"), bytes);
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal(dir.File("b.safetensors"), e.Path);
        Assert.Contains("tensor 'x' is also in", e.Problem);
    }

    [Fact]
    public void Open_IndexNamingMissingShard_ThrowsNamingIndexAndShard()
    {
        using var dir = new TempDirectory();
        IReadOnlyList<string> shards = TestModelWriter.Write(TestModelPresets.TinyQwen2, DType.F16, dir.Path, seed: 1, maxShardBytes: 60_000);
        string missing = shards[1];
        string missingName = Path.GetFileName(missing);
        Assert.Matches(@"^model-00002-of-000\d\d\.safetensors$", missingName);
        File.Delete(missing);
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal(dir.File(SafetensorsCheckpoint.IndexFileName), e.Path);
        Assert.Contains($"weight_map names shard '{missingName}'", e.Problem);
        Assert.Contains("does not exist", e.Problem);
    }

    [Fact]
    public void Open_IndexListsTensorAbsentFromShard_ThrowsNamingShard()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("s1.safetensors"), RawSafetensors.Build(
            """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]));
        File.WriteAllText(dir.File(SafetensorsCheckpoint.IndexFileName), """{"metadata":{},"weight_map":{"x":"s1.safetensors","z":"s1.safetensors"}}""");
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal(dir.File("s1.safetensors"), e.Path);
        Assert.Contains("tensor 'z' is listed in model.safetensors.index.json but not in this shard", e.Problem);
    }

    [Fact]
    public void Open_EmptyFolder_Throws()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal(dir.Path, e.Path);
        Assert.Contains("no *.safetensors files", e.Problem);
    }

    [Fact]
    public void Open_MissingFolder_Throws()
    {
        string folder = Path.Combine(Path.GetTempPath(), "vllmsharp-missing-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(folder));
        Assert.Equal($"{folder}: model folder not found", e.Message);
    }
}
