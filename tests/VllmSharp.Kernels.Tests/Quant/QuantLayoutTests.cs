using VllmSharp.Kernels.Quant;
using VllmSharp.Kernels.Reference;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

/// <summary>
/// Hand-built blocks (bytes written from ggml's documented layouts) decode to hand-computed values in both the
/// production dequantizer and the reference, so neither can share a layout mistake with the quantizer.
/// </summary>
public sealed class QuantLayoutTests
{
    private static void AssertDecodes(byte[] block, QuantType type, params (int Index, float Value)[] expected)
    {
        float[] fast = new float[QuantFormat.BlockElements(type)];
        float[] reference = new float[fast.Length];
        Quantizer.Dequantize(block, type, fast);
        ReferenceQuant.Dequantize(block, type, reference);
        var expectedAll = new float[fast.Length]; // unlisted elements decode to 0 in these blocks
        foreach ((int i, float v) in expected) expectedAll[i] = v;
        Assert.Equal(expectedAll, fast);
        Assert.Equal(expectedAll, reference);
    }

    [Fact]
    public void Dequantize_HandBuiltQ8_0Block_GivesCodeTimesScale()
    {
        byte[] b = new byte[34];
        b[0] = 0x00; b[1] = 0x38; // f16 0.5
        b[2] = unchecked((byte)-3); b[4] = 1; b[33] = 127;
        AssertDecodes(b, QuantType.Q8_0, (0, -1.5f), (2, 0.5f), (31, 63.5f));
    }

    [Fact]
    public void Dequantize_HandBuiltQ5_0Block_FifthBitsFromLittleEndianQh()
    {
        // ggml block_q5_0: f16 d, uint8 qh[4] (bit j of the little-endian word = 5th bit of element j), qs[16] as Q4_0.
        byte[] b = new byte[22];
        b[0] = 0x00; b[1] = 0x38; // f16 0.5
        for (int i = 6; i < 22; i++) b[i] = 0x00; // nibbles 0
        // Code 16 (= zero) everywhere needs the 5th bit set for every element: qh = 0xFFFFFFFF, then clear some.
        b[2] = 0xFF; b[3] = 0xFF; b[4] = 0xFF; b[5] = 0xFF;
        b[2] &= 0xFE;          // element 0: code 0 → −16·0.5
        b[6] = 0x0F;           // element 0 nibble 15: code 15 → −1·0.5; element 16 nibble 0 with 5th bit: code 16 → 0
        b[4] &= 0x7F;          // element 23 (byte 2, bit 7): code 0 + nibble
        b[13] = 0x50;          // element 7 nibble 0 (5th bit set: 16 → 0); element 23 nibble 5 → code 5 → −11·0.5
        b[21] = 0xF0;          // element 31: nibble 15 + 5th bit → code 31 → 15·0.5
        AssertDecodes(b, QuantType.Q5_0, (0, -0.5f), (23, -5.5f), (31, 7.5f));
    }

    [Fact]
    public void Dequantize_HandBuiltQ4_0Block_LowNibblesFirstHalfHighNibblesSecond()
    {
        byte[] b = new byte[18];
        b[0] = 0x00; b[1] = 0x34; // f16 0.25
        for (int i = 2; i < 18; i++) b[i] = 0x88; // code 8 = zero
        b[2] = 0x1F; // element 0 = (15 − 8)·0.25, element 16 = (1 − 8)·0.25
        b[17] = 0x08 | 0x00; // element 15 = 0, element 31 = (0 − 8)·0.25
        AssertDecodes(b, QuantType.Q4_0, (0, 1.75f), (16, -1.75f), (31, -2f));
    }

    [Fact]
    public void Dequantize_HandBuiltQ4_KBlock_Unpacks6BitScalesAndMins()
    {
        byte[] b = new byte[144];
        b[0] = 0x00; b[1] = 0x3C; // d = 1
        b[2] = 0x00; b[3] = 0x38; // dmin = 0.5
        // Sub-block 0: scale 2, min 4 (low 6 bits of scale bytes 0 and 4).
        b[4 + 0] = 2; b[4 + 4] = 4;
        // Sub-block 5: scale 37 = 0b10_0101, min 19 = 0b01_0011: low nibbles in byte 9, top 2 bits in bytes 1 and 5.
        b[4 + 9] = 0x5 | 0x3 << 4; b[4 + 1] = 2 << 6; b[4 + 5] = 1 << 6;
        // Element 0: chunk 0, low nibble of qs[0]; element 32: high nibble of qs[0] (sub-block 1: scale 0, min 0 —
        // the high bits set above must be masked off).
        b[16] = 0x7 | 0x9 << 4;
        // Element 161: sub-block 5 = chunk 2 high nibble of qs[64 + 1].
        b[16 + 65] = 0xA0;
        var expected = new List<(int, float)> { (0, 1 * 2 * 7 - 0.5f * 4), (161, 1 * 37 * 10 - 0.5f * 19) };
        for (int i = 1; i < 32; i++) expected.Add((i, -0.5f * 4)); // rest of sub-block 0: code 0 − min
        for (int i = 160; i < 192; i++) if (i != 161) expected.Add((i, -0.5f * 19));
        AssertDecodes(b, QuantType.Q4_K, [.. expected]);
    }

    [Fact]
    public void Dequantize_HandBuiltQ6_KBlock_CombinesLowNibblesAndHighBitPairs()
    {
        byte[] b = new byte[210];
        // Every 6-bit code 32 (= zero): low nibble 0, high pair 2 (0b10 in each of the 4 pairs of a qh byte).
        for (int i = 128; i < 192; i++) b[i] = 0xAA;
        b[208] = 0x00; b[209] = 0x40; // d = 2
        b[192 + 0] = 3; b[192 + 4] = 1; b[192 + 6] = 5; b[192 + 11] = unchecked((byte)-2);
        // Element 0 (low nibble of ql[0], pair 0 of qh[0]): code 5 | 1<<4 = 21 → −11.
        // Element 64 (high nibble of ql[0], pair 2 of qh[0]): code 10 | 0<<4 → −22.
        // Element 96 (high nibble of ql[32], pair 3 of qh[0]): code 0 | 3<<4 = 48 → 16.
        // Element 32 (low nibble of ql[32], pair 1 of qh[0]): code 0 | 2<<4 → 0.
        b[0] = 0x5 | 0xA << 4;
        b[128] = 0b11_00_10_01;
        // Element 176 (second half, quarter 1, l = 16): low nibble of ql[64+32+16], pair 1 of qh[32+16]: code 15 | 1<<4 = 31 → −1.
        b[112] = 0x0F;
        b[128 + 48] = 0b10_10_01_10;
        AssertDecodes(b, QuantType.Q6_K, (0, 2 * 3 * -11f), (64, 2 * 1 * -22f), (96, 2 * 5 * 16f), (176, 2 * -2 * -1f));
    }
}
