using VllmSharp.Runtime.Loading.Gguf;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

/// <summary>The per-tensor types create-model --format gguf writes, as llama.cpp's llama-quantize picks them.</summary>
public sealed class GgufTensorTypePlanTests
{
    [Theory]
    [InlineData(GgufFileType.Q4_K, "blk.1.attn_q.weight", 896, GgmlType.Q5_0)]   // 896 is not a multiple of 256
    [InlineData(GgufFileType.Q4_K, "blk.1.attn_q.weight", 2048, GgmlType.Q4_K)]
    [InlineData(GgufFileType.Q4_K, "output.weight", 896, GgmlType.Q8_0)]          // Q6_K wanted, 256-wide blocks
    [InlineData(GgufFileType.Q4_K, "output.weight", 2048, GgmlType.Q6_K)]
    [InlineData(GgufFileType.Q4_K, "blk.0.ffn_down.weight", 4864, GgmlType.Q6_K)] // use_more_bits: first eighth
    [InlineData(GgufFileType.Q4_K, "blk.4.ffn_down.weight", 4864, GgmlType.Q4_K)]
    [InlineData(GgufFileType.Q8_0, "blk.1.attn_q.weight", 896, GgmlType.Q8_0)]
    [InlineData(GgufFileType.Q8_0, "blk.1.attn_q.weight", 40, GgmlType.F16)]
    [InlineData(GgufFileType.Q4_K, "blk.1.attn_q.weight", 40, GgmlType.F16)]
    public void TypeFor_Matrix_FollowsLlamaQuantizeFallbacks(GgufFileType file, string name, long cols, GgmlType expected)
        => Assert.Equal(expected, GgufTensorTypePlan.TypeFor(file, name, rank: 2, cols, numLayers: 24, tiedEmbeddings: false));

    [Fact]
    public void TypeFor_Vector_IsF32()
        => Assert.Equal(GgmlType.F32, GgufTensorTypePlan.TypeFor(GgufFileType.Q4_K, "blk.0.attn_norm.weight", rank: 1, 896, 24, false));
}
