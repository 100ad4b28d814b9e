using VllmSharp.Engine.StructuredOutput;
using Xunit;

namespace VllmSharp.Engine.Tests.StructuredOutput;

/// <summary>
/// The vectorized mask application against a per-token reference: exact equality (the blend only copies values
/// or writes −∞, so no tolerance is needed), for every vector width, over rows that are and are not multiples of
/// 64 tokens and masks shorter and longer than the row.
/// </summary>
public sealed class AllowedTokenMaskTests
{
    public static TheoryData<int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int bits in new[] { 512, 256, 0 })
        {
            data.Add(bits, 640, 10);  // mask covers the row exactly
            data.Add(bits, 650, 11);  // last word covers the row in part
            data.Add(bits, 700, 8);   // mask shorter than the row: the rest is not allowed
            data.Add(bits, 130, 5);   // mask longer than the row
            data.Add(bits, 151936, 2370); // Qwen: 151,669 tokenizer ids, 151,936 logits
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Apply_RandomMasks_MatchesPerTokenReference(int vectorBits, int rowLength, int maskWords)
    {
        var rng = new Random(rowLength * 31 + maskWords);
        ulong[] mask = new ulong[maskWords];
        for (int w = 0; w < maskWords; w++)
            mask[w] = (w % 5) switch
            {
                0 => 0,               // a whole word masked (the Fill path)
                1 => ulong.MaxValue,  // a whole word allowed (skipped)
                2 => 1UL << rng.Next(64), // one token
                _ => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 40),
            };
        float[] row = new float[rowLength];
        for (int i = 0; i < row.Length; i++) row[i] = (float)(rng.NextDouble() * 20 - 10);
        float[] expected = (float[])row.Clone();
        for (int i = 0; i < expected.Length; i++)
        {
            bool allowed = i / 64 < mask.Length && (mask[i / 64] & (1UL << (i % 64))) != 0;
            if (!allowed) expected[i] = float.NegativeInfinity;
        }

        AllowedTokenMask.Apply(row, mask, vectorBits);

        Assert.Equal(expected, row);
    }

    [Fact]
    public void Apply_DefaultWidth_MatchesScalar()
    {
        var rng = new Random(7);
        ulong[] mask = new ulong[40];
        for (int w = 0; w < mask.Length; w++) mask[w] = (ulong)rng.NextInt64();
        float[] row = new float[2530];
        for (int i = 0; i < row.Length; i++) row[i] = i;
        float[] scalar = (float[])row.Clone();

        AllowedTokenMask.Apply(row, mask);
        AllowedTokenMask.Apply(scalar, mask, vectorBits: 0);

        Assert.Equal(scalar, row);
    }
}
