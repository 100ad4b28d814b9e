using System.Runtime.InteropServices;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

public sealed class GgufWriterTests
{
    private static byte[] ReadTensor(GgufTensorInfo t)
    {
        var bytes = new byte[t.ByteLength];
        Marshal.Copy(t.Data, bytes, 0, bytes.Length);
        return bytes;
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Write_EveryScalarType_RoundTripsWithClrTypes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        var w = new GgufWriter(path);
        w.AddMetadata("u8", (byte)200);
        w.AddMetadata("i8", (sbyte)-100);
        w.AddMetadata("u16", (ushort)60000);
        w.AddMetadata("i16", (short)-30000);
        w.AddMetadata("u32", 4_000_000_000u);
        w.AddMetadata("i32", -2_000_000_000);
        w.AddMetadata("f32", 1.5e-3f);
        w.AddMetadata("t", true);
        w.AddMetadata("f", false);
        w.AddMetadata("s", "héllo ▁ 你好");
        w.AddMetadata("empty", "");
        w.AddMetadata("u64", ulong.MaxValue);
        w.AddMetadata("i64", long.MinValue);
        w.AddMetadata("f64", Math.PI);
        w.Write();

        using var f = GgufFile.Open(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal(32, f.Alignment);
        Assert.Equal(["u8", "i8", "u16", "i16", "u32", "i32", "f32", "t", "f", "s", "empty", "u64", "i64", "f64"], f.Metadata.Keys);
        Assert.Equal((byte)200, f.Metadata["u8"]);
        Assert.Equal((sbyte)-100, f.Metadata["i8"]);
        Assert.Equal((ushort)60000, f.Metadata["u16"]);
        Assert.Equal((short)-30000, f.Metadata["i16"]);
        Assert.Equal(4_000_000_000u, f.Metadata["u32"]);
        Assert.Equal(-2_000_000_000, f.Metadata["i32"]);
        Assert.Equal(1.5e-3f, f.Metadata["f32"]);
        Assert.Equal(true, f.Metadata["t"]);
        Assert.Equal(false, f.Metadata["f"]);
        Assert.Equal("héllo ▁ 你好", f.Get<string>("s"));
        Assert.Equal("", f.Get<string>("empty"));
        Assert.Equal(ulong.MaxValue, f.Metadata["u64"]);
        Assert.Equal(long.MinValue, f.Metadata["i64"]);
        Assert.Equal(Math.PI, f.Metadata["f64"]);
        Assert.Empty(f.Tensors);
    }

    [Fact]
    public void Write_Arrays_RoundTripIncludingNestedEmptyAndStrings()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        var w = new GgufWriter(path);
        w.AddMetadata("a.u8", new byte[] { 0, 1, 255 });
        w.AddMetadata("a.i8", new sbyte[] { -128, 0, 127 });
        w.AddMetadata("a.u16", new ushort[] { 1, 65535 });
        w.AddMetadata("a.i16", new short[] { -32768, 7 });
        w.AddMetadata("a.u32", new uint[] { 3, uint.MaxValue });
        w.AddMetadata("a.i32", new[] { -1, 2, 3 });
        w.AddMetadata("a.f32", new[] { -0.5f, float.PositiveInfinity });
        w.AddMetadata("a.bool", new[] { true, false, true });
        w.AddMetadata("a.str", new[] { "a", "", "▁b c", "<0x0A>" });
        w.AddMetadata("a.u64", new ulong[] { ulong.MaxValue });
        w.AddMetadata("a.i64", new[] { long.MinValue, 5L });
        w.AddMetadata("a.f64", new[] { 1e300, -2.0 });
        w.AddMetadata("a.empty", Array.Empty<int>());
        w.AddMetadata("a.nested", new object[] { new[] { 1, 2 }, new[] { "x" }, new object[] { new[] { 1.5 } }, Array.Empty<byte>() });
        w.AddMetadata("a.emptynested", Array.Empty<object>());
        w.Write();

        using var f = GgufFile.Open(path);
        Assert.Equal(new byte[] { 0, 1, 255 }, f.Metadata["a.u8"]);
        Assert.Equal(new sbyte[] { -128, 0, 127 }, f.Metadata["a.i8"]);
        Assert.Equal(new ushort[] { 1, 65535 }, f.Metadata["a.u16"]);
        Assert.Equal(new short[] { -32768, 7 }, f.Metadata["a.i16"]);
        Assert.Equal(new uint[] { 3, uint.MaxValue }, f.Metadata["a.u32"]);
        Assert.Equal(new[] { -1, 2, 3 }, f.Metadata["a.i32"]);
        Assert.Equal(new[] { -0.5f, float.PositiveInfinity }, f.Metadata["a.f32"]);
        Assert.Equal(new[] { true, false, true }, f.Metadata["a.bool"]);
        Assert.Equal(new[] { "a", "", "▁b c", "<0x0A>" }, f.Get<string[]>("a.str"));
        Assert.Equal(new[] { ulong.MaxValue }, f.Metadata["a.u64"]);
        Assert.Equal(new[] { long.MinValue, 5L }, f.Metadata["a.i64"]);
        Assert.Equal(new[] { 1e300, -2.0 }, f.Metadata["a.f64"]);
        Assert.Equal(Array.Empty<int>(), f.Metadata["a.empty"]);
        var nested = Assert.IsType<object[]>(f.Metadata["a.nested"]);
        Assert.Equal(4, nested.Length);
        Assert.Equal(new[] { 1, 2 }, nested[0]);
        Assert.Equal(new[] { "x" }, nested[1]);
        Assert.Equal(new[] { 1.5 }, Assert.IsType<object[]>(nested[2])[0]);
        Assert.Equal(Array.Empty<byte>(), nested[3]);
        Assert.Empty(Assert.IsType<object[]>(f.Metadata["a.emptynested"]));
    }

    [Fact]
    public void Write_TensorsOfSeveralTypes_DataAlignedAndIntact()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        var w = new GgufWriter(path);
        w.AddMetadata("general.architecture", "llama");
        // Sizes chosen so that most tensors end off the 32-byte grid and need padding before the next.
        var specs = new (string Name, long[] Dims, GgmlType Type)[]
        {
            ("f32", [3, 2], GgmlType.F32),
            ("f16", [5], GgmlType.F16),
            ("bf16", [7, 1, 1], GgmlType.BF16),
            ("q8_0", [64, 3], GgmlType.Q8_0),
            ("q4_0", [32, 1], GgmlType.Q4_0),
            ("q4_k", [256, 2], GgmlType.Q4_K),
            ("q6_k", [512, 1, 1, 2], GgmlType.Q6_K),
            ("q5_0", [32], GgmlType.Q5_0),
        };
        var data = new byte[specs.Length][];
        for (int i = 0; i < specs.Length; i++)
        {
            long elements = 1;
            foreach (long d in specs[i].Dims) elements *= d;
            data[i] = Pattern((int)GgmlTypeInfo.RowBytes(specs[i].Type, elements), seed: i);
            if (i % 2 == 0) w.AddTensor(specs[i].Name, specs[i].Dims, specs[i].Type, data[i]);
            else
            {
                byte[] captured = data[i];
                w.AddTensor(specs[i].Name, specs[i].Dims, specs[i].Type, s => s.Write(captured));
            }
        }
        w.Write();

        using var f = GgufFile.Open(path);
        Assert.Equal(0, f.DataOffset % 32);
        Assert.Equal(specs.Length, f.Tensors.Count);
        nint dataStart = f.Tensors[0].Data - (nint)f.Tensors[0].Offset;
        for (int i = 0; i < specs.Length; i++)
        {
            GgufTensorInfo t = f.Tensors[i];
            Assert.Equal(specs[i].Name, t.Name);
            Assert.Equal(specs[i].Dims, t.Dims);
            Assert.Equal(specs[i].Type, t.Type);
            Assert.Equal(0, t.Offset % 32);
            Assert.Equal(dataStart + (nint)t.Offset, t.Data);
            Assert.Equal(data[i], ReadTensor(t));
            Assert.Same(t, f.GetTensor(specs[i].Name));
        }
    }

    [Fact]
    public void Write_CustomAlignment_OffsetsFollowIt()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        var w = new GgufWriter(path);
        w.AddMetadata("general.alignment", 256u);
        byte[] a = Pattern(4 * 3, 1), b = Pattern(34, 2);
        w.AddTensor("a", [3], GgmlType.F32, a);
        w.AddTensor("b", [32], GgmlType.Q8_0, b);
        w.Write();

        using var f = GgufFile.Open(path);
        Assert.Equal(256, f.Alignment);
        Assert.Equal(0, f.DataOffset % 256);
        Assert.Equal(0, f.GetTensor("a").Offset);
        Assert.Equal(256, f.GetTensor("b").Offset);
        Assert.Equal(b, ReadTensor(f.GetTensor("b")));
        Assert.Equal(f.DataOffset + 512, new FileInfo(path).Length); // each tensor padded to the alignment
    }

    [Fact]
    public void Write_SmallFile_MatchesHandBuiltBytes()
    {
        // The same file as RawGguf.Small, written by the writer: byte equality pins the layout to the format.
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        var w = new GgufWriter(path);
        w.AddMetadata("general.architecture", "llama");
        w.AddMetadata("llama.block_count", 2u);
        var floats = new float[8];
        for (int i = 0; i < 8; i++) floats[i] = i;
        w.AddTensor("w", [4, 2], GgmlType.F32, MemoryMarshal.AsBytes(floats.AsSpan()));
        w.Write();
        Assert.Equal(RawGguf.Small(out _), File.ReadAllBytes(path));
    }

    [Fact]
    public void Get_CompatibleIntegerTypes_ConvertsLosslessly()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        var w = new GgufWriter(path);
        w.AddMetadata("n", 300u);
        w.AddMetadata("ids", new uint[] { 1, 2, 70000 });
        w.AddMetadata("eps", 1e-5f);
        w.Write();
        using var f = GgufFile.Open(path);
        Assert.Equal(300, f.Get<int>("n"));
        Assert.Equal(300L, f.Get<long>("n"));
        Assert.Equal(new[] { 1, 2, 70000 }, f.Get<int[]>("ids"));
        Assert.Equal((double)1e-5f, f.Get<double>("eps"));
        Assert.False(f.TryGet("missing", out int _));
        var e = Assert.Throws<ModelLoadException>(() => f.Get<byte>("n"));
        Assert.Contains("metadata key 'n' is UInt32 (300), expected UInt8", e.Problem);
        e = Assert.Throws<ModelLoadException>(() => f.Get<string>("ids"));
        Assert.Contains("'ids' is Array of UInt32 (length 3), expected String", e.Problem);
        e = Assert.Throws<ModelLoadException>(() => f.Get<float>("missing"));
        Assert.Equal($"{path}: metadata key 'missing' not found (expected Float32)", e.Message);
        Assert.Throws<ModelLoadException>(() => f.GetTensor("nope"));
    }

    [Fact]
    public void Add_InvalidInput_Throws()
    {
        var w = new GgufWriter(Path.Combine(Path.GetTempPath(), "never-written.gguf"));
        w.AddMetadata("k", 1);
        Assert.Throws<ArgumentException>(() => w.AddMetadata("k", 2));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("d", 1m));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("jag", new int[][] { [1] }));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("obj", new object[] { 1 }));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("general.alignment", 48u));
        Assert.Throws<ArgumentException>(() => w.AddMetadata("general.alignment", 64));
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", [100], GgmlType.Q4_K, new byte[144]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("f", [2], GgmlType.F32, new byte[7]));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('n', 64), [2], GgmlType.F32, new byte[8]));
        w.AddTensor("f", [2], GgmlType.F32, new byte[8]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("f", [2], GgmlType.F32, new byte[8]));
    }

    [Fact]
    public void Write_CallbackWritesWrongLength_ThrowsAndLeavesNoFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        var w = new GgufWriter(path);
        w.AddTensor("f", [4], GgmlType.F32, s => s.Write(new byte[15]));
        var e = Assert.Throws<InvalidOperationException>(w.Write);
        Assert.Contains("wrote 15 bytes, expected 16", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
