using VllmSharp.Runtime.Loading.Gguf;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

public sealed class GgmlTypeInfoTests
{
    // Expected sizes are computed here from the block structs' fields (f16 = 2 bytes), independently of the table.
    [Theory]
    [InlineData(GgmlType.F32, 1, 4)]
    [InlineData(GgmlType.F16, 1, 2)]
    [InlineData(GgmlType.BF16, 1, 2)]
    [InlineData(GgmlType.Q4_0, 32, 2 + 32 / 2)]
    [InlineData(GgmlType.Q4_1, 32, 2 + 2 + 32 / 2)]
    [InlineData(GgmlType.Q5_0, 32, 2 + 32 / 8 + 32 / 2)]
    [InlineData(GgmlType.Q5_1, 32, 2 + 2 + 32 / 8 + 32 / 2)]
    [InlineData(GgmlType.Q8_0, 32, 2 + 32)]
    [InlineData(GgmlType.Q8_1, 32, 2 + 2 + 32)]
    [InlineData(GgmlType.Q2_K, 256, 256 / 16 + 256 / 4 + 2 + 2)]
    [InlineData(GgmlType.Q3_K, 256, 256 / 8 + 256 / 4 + 12 + 2)]
    [InlineData(GgmlType.Q4_K, 256, 2 + 2 + 12 + 256 / 2)]
    [InlineData(GgmlType.Q5_K, 256, 2 + 2 + 12 + 256 / 8 + 256 / 2)]
    [InlineData(GgmlType.Q6_K, 256, 256 / 2 + 256 / 4 + 256 / 16 + 2)]
    [InlineData(GgmlType.Q8_K, 256, 4 + 256 + 2 * 256 / 16)]
    public void BlockAndTypeSize_KnownTypes_MatchBlockStructs(GgmlType type, int block, int bytes)
    {
        Assert.Equal(block, GgmlTypeInfo.BlockSize(type));
        Assert.Equal(bytes, GgmlTypeInfo.TypeSize(type));
        Assert.Equal(3L * bytes, GgmlTypeInfo.RowBytes(type, 3L * block));
    }

    [Fact]
    public void Numbering_MatchesGgml()
    {
        Assert.Equal(8u, (uint)GgmlType.Q8_0);
        Assert.Equal(12u, (uint)GgmlType.Q4_K);
        Assert.Equal(14u, (uint)GgmlType.Q6_K);
        Assert.Equal(30u, (uint)GgmlType.BF16);
        Assert.Equal(9u, (uint)GgufValueType.Array);
        Assert.Equal(12u, (uint)GgufValueType.Float64);
    }

    [Fact]
    public void RowBytes_PartialBlock_Throws()
    {
        Assert.Throws<ArgumentException>(() => GgmlTypeInfo.RowBytes(GgmlType.Q4_K, 896));
        Assert.False(GgmlTypeInfo.IsKnown((GgmlType)4));
        Assert.Throws<ArgumentOutOfRangeException>(() => GgmlTypeInfo.TypeSize((GgmlType)16));
    }
}
