using System.Runtime.CompilerServices;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests;

public sealed unsafe class EmbeddingTests
{
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void Lookup_ValidIds_CopiesRowsExactly(DType type)
    {
        const int vocab = 50, hidden = 37;
        var rng = new Random(11);
        float[] values = new float[vocab * hidden];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        byte[] table = GC.AllocateArray<byte>(values.Length * type.SizeInBytes(), pinned: true);
        nint data = (nint)Unsafe.AsPointer(ref table[0]);
        ReferenceConvert.FromSingle(values, type, data);
        var matrix = new WeightMatrix(data, type, vocab, hidden);

        int[] ids = [0, 49, 7, 7, 23];
        float[] output = new float[ids.Length * hidden];
        Embedding.Lookup(matrix, ids, output);

        for (int t = 0; t < ids.Length; t++)
            for (int c = 0; c < hidden; c++)
                Assert.Equal(ReferenceConvert.ElementToSingle(data, type, (long)ids[t] * hidden + c), output[t * hidden + c]);
        GC.KeepAlive(table);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    [InlineData(int.MaxValue)]
    public void Lookup_IdOutsideVocabulary_ThrowsArgumentOutOfRange(int badId)
    {
        float[] table = GC.AllocateArray<float>(4 * 3, pinned: true);
        var matrix = new WeightMatrix((nint)Unsafe.AsPointer(ref table[0]), DType.F32, 4, 3);
        float[] output = new float[2 * 3];
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Lookup(matrix, [1, badId], output));
        Assert.All(output, v => Assert.Equal(0f, v)); // nothing written before the check failed
        GC.KeepAlive(table);
    }

    [Fact]
    public void Lookup_OutputWrongLength_ThrowsArgumentException()
    {
        float[] table = GC.AllocateArray<float>(4 * 3, pinned: true);
        var matrix = new WeightMatrix((nint)Unsafe.AsPointer(ref table[0]), DType.F32, 4, 3);
        Assert.Throws<ArgumentException>(() => Embedding.Lookup(matrix, [1, 2], new float[5]));
        GC.KeepAlive(table);
    }
}
