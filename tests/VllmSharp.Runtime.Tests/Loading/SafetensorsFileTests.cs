using System.Runtime.InteropServices;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading;

public sealed class SafetensorsFileTests
{
    private static ModelLoadException OpenBroken(TempDirectory dir, byte[] bytes)
    {
        string path = dir.File("model.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    [Fact]
    public void Open_HandMadeFile_ReadsTensorsInPlace()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.safetensors");
        File.WriteAllBytes(path, RawSafetensors.TwoTensors(out float[] a, out float[] b));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["a", "b"], file.TensorNames);
        Assert.Equal("pt", file.Metadata["format"]);
        TensorInfo ta = file.GetTensor("a");
        Assert.Equal(DType.F32, ta.Type);
        Assert.Equal([2L, 3L], ta.Shape);
        Assert.Equal(path, ta.File);
        var read = new float[6];
        Marshal.Copy(ta.Data, read, 0, 6);
        Assert.Equal(a, read);
        TensorInfo tb = file.GetTensor("b");
        Assert.Equal(ta.Data + 24, tb.Data); // contiguous in the mapping: no copy was made
        Marshal.Copy(tb.Data, read, 0, 2);
        Assert.Equal(b, read[..2]);
    }

    [Fact]
    public void Open_FileShorterThanLengthPrefix_Throws()
    {
        using var dir = new TempDirectory();
        var e = OpenBroken(dir, [1, 2, 3]);
        Assert.Contains("too short", e.Problem);
    }

    [Fact]
    public void Open_HeaderLengthBeyondFile_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawSafetensors.TwoTensors(out _, out _);
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 1_000_000UL);
        var e = OpenBroken(dir, bytes);
        Assert.Contains($"header length 1000000 is beyond the file ({bytes.Length} bytes)", e.Problem);
    }

    [Fact]
    public void Open_InvalidJsonHeader_Throws()
    {
        using var dir = new TempDirectory();
        var e = OpenBroken(dir, RawSafetensors.Build("{\"a\": {\"dtype\": \"F32\",", new byte[8]));
        Assert.StartsWith("invalid JSON header", e.Problem);
    }

    [Fact]
    public void Open_TruncatedData_ThrowsNamingTensorAndSizes()
    {
        using var dir = new TempDirectory();
        byte[] full = RawSafetensors.TwoTensors(out _, out _);
        byte[] cut = full[..^4]; // last 4 bytes of tensor "b" missing
        var e = OpenBroken(dir, cut);
        Assert.Equal($"truncated: tensor 'b' ends at byte {full.Length} but the file has {cut.Length} bytes", e.Problem);
    }

    [Fact]
    public void Open_UnknownDtype_ThrowsNamingIt()
    {
        using var dir = new TempDirectory();
        var e = OpenBroken(dir, RawSafetensors.Build("""{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}""", new byte[2]));
        Assert.Contains("tensor 'w' has unknown dtype 'Q4'", e.Problem);
    }

    [Fact]
    public void Open_OffsetsNotMatchingShape_Throws()
    {
        using var dir = new TempDirectory();
        var e = OpenBroken(dir, RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[12]));
        Assert.Contains("tensor 'w' has data_offsets [0, 8] (8 bytes) but shape [3] of F32 needs 12 bytes", e.Problem);
    }

    [Fact]
    public void Open_OverlappingTensors_Throws()
    {
        using var dir = new TempDirectory();
        var e = OpenBroken(dir, RawSafetensors.Build(
            """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]));
        Assert.Contains("'x' and 'y' overlap", e.Problem);
    }

    [Fact]
    public void Open_NegativeOrReversedOffsets_Throws()
    {
        using var dir = new TempDirectory();
        var e = OpenBroken(dir, RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", new byte[8]));
        Assert.Contains("tensor 'w' has invalid data_offsets", e.Problem);
    }

    [Fact]
    public void Open_MissingFile_Throws()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => SafetensorsFile.Open(dir.File("nope.safetensors")));
        Assert.Equal(dir.File("nope.safetensors"), e.Path);
    }

    [Fact]
    public void GetTensor_UnsupportedDtype_ThrowsNamingFileAndTensor()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.safetensors");
        File.WriteAllBytes(path, RawSafetensors.Build("""{"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}""", new byte[4]));
        using var file = SafetensorsFile.Open(path); // a valid file: I8 is a safetensors dtype
        Assert.Equal("I8", file.StoredDType("w"));
        var e = Assert.Throws<ModelLoadException>(() => file.GetTensor("w"));
        Assert.Equal(path, e.Path);
        Assert.Contains("tensor 'w' has dtype I8, which is not supported", e.Problem);
    }

    [Fact]
    public void Write_ThenOpen_RoundTripsEveryDtypeAndMetadata()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.safetensors");
        var rng = new Random(7);
        var tensors = new List<(SafetensorsEntry, byte[])>();
        foreach (string dtype in new[] { "F32", "F16", "BF16", "I8" })
        {
            var entry = new SafetensorsEntry("t." + dtype, dtype, [3, 5]);
            var data = new byte[entry.ByteLength];
            rng.NextBytes(data);
            tensors.Add((entry, data));
        }
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["note"] = "hi" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("hi", file.Metadata["note"]);
        Assert.Equal("pt", file.Metadata["format"]);
        var headerLength = BitConverter.ToUInt64(File.ReadAllBytes(path).AsSpan(0, 8));
        Assert.Equal(0UL, headerLength % 8); // data starts 8-byte aligned
        foreach (var (entry, data) in tensors)
        {
            Assert.Equal(entry.DType, file.StoredDType(entry.Name));
            if (entry.DType == "I8") continue;
            TensorInfo t = file.GetTensor(entry.Name);
            Assert.Equal(entry.Shape, t.Shape);
            var read = new byte[data.Length];
            Marshal.Copy(t.Data, read, 0, read.Length);
            Assert.Equal(data, read);
        }
    }

    [Fact]
    public void Writer_DisposedBeforeComplete_RemovesPartialFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("partial.safetensors");
        using (var writer = new SafetensorsWriter(path, [new SafetensorsEntry("w", "F32", [4])]))
        {
            writer.Append(new byte[8]);
            Assert.Equal(8, writer.BytesRemaining);
            Assert.Throws<InvalidOperationException>(() => writer.Append(new byte[9]));
        }
        Assert.False(File.Exists(path));
    }
}
