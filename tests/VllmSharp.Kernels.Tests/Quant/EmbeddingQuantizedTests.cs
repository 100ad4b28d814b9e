using VllmSharp.Kernels.Quant;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

public sealed class EmbeddingQuantizedTests
{
    [Theory]
    [InlineData(DType.Q8_0)]
    [InlineData(DType.Q4_0)]
    [InlineData(DType.Q4_K)]
    [InlineData(DType.Q6_K)]
    [InlineData(DType.Q5_0)]
    public void Lookup_QuantizedTable_EqualsDequantizedRowsExactly(DType type)
    {
        const int vocab = 40, hidden = 512;
        using var table = new QuantWeight(new Random(20 + (int)type), type, vocab, hidden);
        int[] ids = [0, 39, 7, 7, 23];
        float[] output = new float[ids.Length * hidden];
        Embedding.Lookup(table.Matrix, ids, output);
        // Dequantization is elementwise products of the stored scales and codes: exact, whatever the implementation.
        for (int t = 0; t < ids.Length; t++)
            for (int c = 0; c < hidden; c++)
                Assert.Equal(table.Dequantized[ids[t] * hidden + c], output[t * hidden + c]);
    }

    [Fact]
    public void Lookup_QuantizedTableHiddenNotMultipleOfBlock_ThrowsArgumentException()
    {
        using var table = new QuantWeight(new Random(3), DType.Q4_K, 2, 256);
        Assert.Throws<ArgumentException>(() => Embedding.Lookup(table.Matrix with { Cols = 250 }, [1], new float[250]));
    }

    [Fact]
    public void DTypeExtensions_QuantizedTypes_ReportBlockGeometry()
    {
        Assert.False(DType.BF16.IsQuantized());
        Assert.True(DType.Q6_K.IsQuantized());
        Assert.Equal(1, DType.F16.BlockSize());
        Assert.Equal(32, DType.Q4_0.BlockSize());
        Assert.Equal(256, DType.Q4_K.BlockSize());
        Assert.Equal(896 / 32 * 34, DType.Q8_0.RowBytes(896));
        Assert.Equal(896 / 32 * 18, DType.Q4_0.RowBytes(896));
        Assert.Equal(896 / 32 * 22, DType.Q5_0.RowBytes(896));
        Assert.True(DType.Q5_0.IsQuantized());
        Assert.Equal(32, DType.Q5_0.BlockSize());
        Assert.Equal(4864 / 256 * 144, DType.Q4_K.RowBytes(4864));
        Assert.Equal(4864 / 256 * 210, DType.Q6_K.RowBytes(4864));
        Assert.Equal(10 * 2, DType.BF16.RowBytes(10));
        Assert.Throws<ArgumentException>(() => DType.Q4_K.RowBytes(896));
        Assert.Throws<ArgumentException>(() => DType.Q8_0.SizeInBytes());
        var m = new WeightMatrix(1000, DType.Q6_K, 3, 512);
        Assert.Equal(3 * 420, m.SizeInBytes);
        Assert.Equal(1000 + 2 * 420, m.RowAddress(2));
    }
}
