using VllmSharp.Kernels.Quant;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

public sealed unsafe class QuantDequantTests
{
    [Theory]
    [InlineData(QuantType.Q8_0)]
    [InlineData(QuantType.Q4_0)]
    [InlineData(QuantType.Q4_K)]
    [InlineData(QuantType.Q6_K)]
    [InlineData(QuantType.Q5_0)]
    public void Row_EveryType_EqualsScalarDequantizeExactly(QuantType type)
    {
        // Same single rounding per product (and per difference for Q4_K), so the results must be bitwise equal.
        const int cols = 1024;
        byte[] q = QuantTestData.Quantize(QuantTestData.Weights(new Random(60 + (int)type), cols), type);
        float[] expected = new float[cols], got = new float[cols];
        Quantizer.Dequantize(q, type, expected);
        fixed (byte* pq = q)
        fixed (float* pg = got)
            QuantDequant.Row(type, pq, cols, pg);
        for (int i = 0; i < cols; i++) Assert.Equal(expected[i], got[i]);
    }
}
