using System.Runtime.Intrinsics;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Applies a constraint's token bitset (bit i of word i/64 = token i allowed) to a row of logits: disallowed
/// logits become −∞. Inside a JSON string most 64-token words mix allowed and disallowed tokens (~1,500 of the
/// Qwen vocabulary's 2,374), so those words are done as vectors: each 16-bit slice of the word is broadcast,
/// tested against one bit per lane, and used as a blend mask, instead of one branch per token.
/// </summary>
internal static class AllowedTokenMask
{
    private static readonly Vector512<int> s_bits512 = Vector512.Create(
        1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7,
        1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15);
    private static readonly Vector256<int> s_bits256 = Vector256.Create(1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7);

    /// <summary>Sets row[i] = −∞ for every token the mask does not allow; tokens past the mask are not allowed.</summary>
    public static void Apply(Span<float> row, ReadOnlySpan<ulong> allowed) =>
        Apply(row, allowed, Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0);

    /// <param name="vectorBits">512, 256 or 0 (scalar): lets tests run every path on any machine.</param>
    internal static void Apply(Span<float> row, ReadOnlySpan<ulong> allowed, int vectorBits)
    {
        int fullWords = Math.Min(allowed.Length, row.Length / 64);
        for (int w = 0; w < fullWords; w++)
        {
            ulong bits = allowed[w];
            if (bits == ulong.MaxValue) continue;
            if (bits == 0)
            {
                row.Slice(w * 64, 64).Fill(float.NegativeInfinity);
                continue;
            }
            Span<float> word = row.Slice(w * 64, 64);
            if (vectorBits == 512)
            {
                for (int k = 0; k < 4; k++) Blend512(word.Slice(k * 16, 16), (int)(bits >> (k * 16)) & 0xFFFF);
            }
            else if (vectorBits == 256)
            {
                for (int k = 0; k < 8; k++) Blend256(word.Slice(k * 8, 8), (int)(bits >> (k * 8)) & 0xFF);
            }
            else
            {
                ApplyScalar(word, bits);
            }
        }
        // A last word that covers the end of the row only in part (vocabularies not a multiple of 64).
        int done = fullWords * 64;
        if (fullWords < allowed.Length && done < row.Length)
        {
            ApplyScalar(row[done..], allowed[fullWords]);
            done = row.Length;
        }
        if (done < row.Length) row[done..].Fill(float.NegativeInfinity);
    }

    private static void Blend512(Span<float> at, int bits)
    {
        Vector512<float> values = Vector512.Create<float>(at);
        Vector512<int> keep = Vector512.Equals(Vector512.Create(bits) & s_bits512, s_bits512);
        Vector512.ConditionalSelect(keep.AsSingle(), values, Vector512.Create(float.NegativeInfinity)).CopyTo(at);
    }

    private static void Blend256(Span<float> at, int bits)
    {
        Vector256<float> values = Vector256.Create<float>(at);
        Vector256<int> keep = Vector256.Equals(Vector256.Create(bits) & s_bits256, s_bits256);
        Vector256.ConditionalSelect(keep.AsSingle(), values, Vector256.Create(float.NegativeInfinity)).CopyTo(at);
    }

    // Up to 64 tokens of one word (fewer at the row's end).
    private static void ApplyScalar(Span<float> slice, ulong bits)
    {
        int n = Math.Min(slice.Length, 64);
        for (int i = 0; i < n; i++)
            if ((bits & (1UL << i)) == 0) slice[i] = float.NegativeInfinity;
    }
}
