using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

public sealed class GgufFileBadInputTests
{
    private static readonly int FuzzIterations = int.TryParse(Environment.GetEnvironmentVariable("VLLMSHARP_GGUF_FUZZ"), out int n) ? n : 400;

    private static ModelLoadException OpenBroken(TempDirectory dir, byte[] bytes)
    {
        string path = dir.File("model.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelLoadException>(() => GgufFile.Open(path));
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    [Fact]
    public void Open_HandBuiltSmallFile_Reads()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.gguf");
        File.WriteAllBytes(path, RawGguf.Small(out int dataStart));
        using var f = GgufFile.Open(path);
        Assert.Equal("llama", f.Get<string>("general.architecture"));
        Assert.Equal(2u, f.Metadata["llama.block_count"]);
        Assert.Equal(dataStart, f.DataOffset);
        GgufTensorInfo w = Assert.Single(f.Tensors);
        Assert.Equal([4L, 2L], w.Dims);
        Assert.Equal(32, w.ByteLength);
        var floats = new float[8];
        System.Runtime.InteropServices.Marshal.Copy(w.Data, floats, 0, 8);
        Assert.Equal([0f, 1, 2, 3, 4, 5, 6, 7], floats);
    }

    [Fact]
    public void Open_WrongMagic_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawGguf.Small(out _);
        "GGML"u8.CopyTo(bytes);
        Assert.Contains("not a GGUF file: magic is 0x4C4D4747 (bytes 'GGML')", OpenBroken(dir, bytes).Problem);
        Assert.Contains("too short", OpenBroken(dir, [0x47, 0x47]).Problem);
    }

    [Theory]
    [InlineData(1u, "unsupported GGUF version 1 (GGUF v1 is obsolete)")]
    [InlineData(4u, "unsupported GGUF version 4;")]
    [InlineData(0x03000000u, "big-endian")]
    public void Open_UnsupportedVersion_Throws(uint version, string expected)
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawGguf.Small(out _);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), version);
        Assert.Contains(expected, OpenBroken(dir, bytes).Problem);
    }

    [Fact]
    public void Open_TruncatedHeader_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawGguf.Small(out _);
        // 24-byte fixed header, then "general.architecture" = "llama" (69 bytes in all), then the key
        // "llama.block_count" and its type end at byte 98: cutting at 100 leaves half of its u32 value.
        var e = OpenBroken(dir, bytes[..100]);
        Assert.Contains("truncated header", e.Problem);
        Assert.Contains("value of metadata 'llama.block_count' at byte 98 needs 4 bytes but the file (100 bytes) has 2 left", e.Problem);
    }

    [Fact]
    public void Open_TruncatedTensorData_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawGguf.Small(out _);
        var e = OpenBroken(dir, bytes[..^4]);
        Assert.Contains($"truncated: tensor 'w' (F32 [4, 2], 32 bytes at data offset 0) ends at byte {bytes.Length} but the file has {bytes.Length - 4} bytes", e.Problem);
    }

    [Fact]
    public void Open_StringLengthBeyondFile_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawGguf.Small(out _);
        BitConverter.TryWriteBytes(bytes.AsSpan(24), 1UL << 40); // length of the first key
        var e = OpenBroken(dir, bytes);
        Assert.Contains("metadata key #0 at byte 24 has length 1099511627776, beyond the end of the file", e.Problem);
    }

    [Fact]
    public void Open_UnknownValueType_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawGguf.Build(3, 0, 1, w => { RawGguf.Str(w, "odd"); w.Write(13u); w.Write(0UL); });
        Assert.Contains("metadata 'odd' has unknown value type 13", OpenBroken(dir, bytes).Problem);
        bytes = RawGguf.Build(3, 0, 1, w => { RawGguf.Str(w, "arr"); w.Write(9u); w.Write(99u); w.Write(1UL); });
        Assert.Contains("metadata 'arr' is an array of unknown value type 99", OpenBroken(dir, bytes).Problem);
    }

    [Fact]
    public void Open_UnknownTensorType_Throws()
    {
        using var dir = new TempDirectory();
        byte[] bytes = RawGguf.Build(3, 1, 0, w =>
        {
            RawGguf.Str(w, "t"); w.Write(1u); w.Write(32UL); w.Write(16u); w.Write(0UL); // 16 = IQ2_XXS
            RawGguf.Pad(w, 32); w.Write(new byte[64]);
        });
        Assert.Contains("tensor 't' has ggml type 16, which is unknown or not supported", OpenBroken(dir, bytes).Problem);
    }

    [Fact]
    public void Open_InconsistentLayout_Throws()
    {
        using var dir = new TempDirectory();
        byte[] Tensors(ulong rowLength, uint type, ulong offsetB, object? alignment) => RawGguf.Build(3, 2, alignment is null ? 0UL : 1UL, w =>
        {
            if (alignment is uint a) { RawGguf.Str(w, "general.alignment"); w.Write(4u); w.Write(a); }
            else if (alignment is int i) { RawGguf.Str(w, "general.alignment"); w.Write(5u); w.Write(i); }
            RawGguf.Str(w, "a"); w.Write(1u); w.Write(rowLength); w.Write(type); w.Write(0UL);
            RawGguf.Str(w, "b"); w.Write(1u); w.Write(8UL); w.Write(0u); w.Write(offsetB);
            RawGguf.Pad(w, 32); w.Write(new byte[256]);
        });
        Assert.Contains("tensor 'a' of type Q8_0 has rows of 40 elements, not a multiple of the block size 32",
            OpenBroken(dir, Tensors(40, 8, 64, null)).Problem);
        Assert.Contains("tensor 'b' has offset 40, not a multiple of the alignment 32", OpenBroken(dir, Tensors(8, 0, 40, null)).Problem);
        Assert.Contains("tensors 'a' and 'b' overlap", OpenBroken(dir, Tensors(16, 0, 32, 16u)).Problem);
        Assert.Contains("'general.alignment' is Int32 (16), expected UInt32", OpenBroken(dir, Tensors(8, 0, 32, 16)).Problem);
        Assert.Contains("'general.alignment' is 24, expected a power of two", OpenBroken(dir, Tensors(8, 0, 48, 24u)).Problem);
    }

    [Fact]
    public void Open_HugeCounts_ThrowWithoutAllocating()
    {
        using var dir = new TempDirectory();
        Assert.Contains("metadata count 18446744073709551615 cannot fit", OpenBroken(dir, RawGguf.Build(3, 0, ulong.MaxValue, _ => { })).Problem);
        Assert.Contains("tensor count 1000000 cannot fit", OpenBroken(dir, RawGguf.Build(3, 1_000_000, 0, _ => { })).Problem);
        byte[] bigArray = RawGguf.Build(3, 0, 1, w => { RawGguf.Str(w, "toks"); w.Write(9u); w.Write(8u); w.Write(1UL << 60); });
        Assert.Contains("metadata 'toks' has an array of 1152921504606846976 String elements, beyond the end of the file", OpenBroken(dir, bigArray).Problem);
        Assert.Contains("nests arrays more than 16 deep", OpenBroken(dir, RawGguf.Build(3, 0, 1, w =>
        {
            RawGguf.Str(w, "deep"); w.Write(9u);
            for (int i = 0; i < 40; i++) { w.Write(9u); w.Write(1UL); }
        })).Problem);
    }

    [Fact]
    public void Open_RandomFlipsAndTruncations_OnlyModelLoadExceptionOrValidFile()
    {
        // Fuzz: any damage must end in a clean load or a ModelLoadException, never another exception type or a
        // read outside the file. Fixed seed; 400 variants of a ~200-byte file keep this well under a second.
        using var dir = new TempDirectory();
        string path = dir.File("fuzz.gguf");
        byte[][] originals = [RawGguf.Small(out _), RichFile(dir.File("rich.gguf"))];
        var random = new Random(1234);
        for (int iteration = 0; iteration < FuzzIterations; iteration++)
        {
            byte[] bytes = (byte[])originals[iteration % 2].Clone();
            if (iteration % 3 == 0) bytes = bytes[..random.Next(bytes.Length)];
            int flips = random.Next(1, 4);
            for (int i = 0; i < flips && bytes.Length > 0; i++)
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(path, bytes);
            try
            {
                using GgufFile f = GgufFile.Open(path);
                foreach (GgufTensorInfo t in f.Tensors)
                    Assert.True(f.DataOffset + t.Offset + t.ByteLength <= bytes.Length, $"iteration {iteration}: tensor beyond the file");
            }
            catch (ModelLoadException e)
            {
                Assert.Equal(path, e.Path);
            }
        }
    }

    /// <summary>Every value kind (nested and string arrays included) and three tensors, written by our writer.</summary>
    private static byte[] RichFile(string path)
    {
        var w = new GgufWriter(path);
        w.AddMetadata("general.alignment", 64u);
        w.AddMetadata("s", "text");
        w.AddMetadata("b", true);
        w.AddMetadata("f", 2.5);
        w.AddMetadata("tokens", new[] { "a", "bc", "" });
        w.AddMetadata("nested", new object[] { new short[] { 1, 2 }, new object[] { new[] { false } } });
        w.AddTensor("t0", [32, 2], GgmlType.Q8_0, new byte[68]);
        w.AddTensor("t1", [3], GgmlType.F16, new byte[6]);
        w.AddTensor("t2", [256], GgmlType.Q6_K, new byte[210]);
        w.Write();
        return File.ReadAllBytes(path);
    }
}
