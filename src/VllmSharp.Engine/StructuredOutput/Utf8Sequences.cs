namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Splits a code point range into UTF-8 byte-range sequences: each sequence is one byte range per position, and
/// the sequences together match exactly the UTF-8 encodings of the range. This is what lets a character class
/// become a byte automaton (a token may end in the middle of a character).
/// </summary>
internal static class Utf8Sequences
{
    private static readonly int[] s_lengthEnds = [0x7F, 0x7FF, 0xFFFF, 0x10FFFF];

    /// <summary>Adds the sequences of [lo, hi] (no surrogates inside) as arrays of (lo, hi) byte pairs.</summary>
    public static void Add(int lo, int hi, List<byte[]> sequences)
    {
        // One encoding length at a time.
        foreach (int end in s_lengthEnds)
        {
            if (lo > hi) return;
            if (lo > end) continue;
            SplitSameLength(lo, Math.Min(hi, end), sequences);
            lo = end + 1;
        }
    }

    private static void SplitSameLength(int lo, int hi, List<byte[]> sequences)
    {
        int length = Length(lo);
        // Until lo and hi differ only in positions whose ranges can be taken independently, split at the first
        // continuation-byte boundary that breaks that (the lower end must start a full block, the upper end finish one).
        for (int i = 1; i < length; i++)
        {
            int mask = (1 << (6 * i)) - 1;
            if ((lo & ~mask) == (hi & ~mask)) continue;
            if ((lo & mask) != 0)
            {
                SplitSameLength(lo, lo | mask, sequences);
                SplitSameLength((lo | mask) + 1, hi, sequences);
                return;
            }
            if ((hi & mask) != mask)
            {
                SplitSameLength(lo, (hi & ~mask) - 1, sequences);
                SplitSameLength(hi & ~mask, hi, sequences);
                return;
            }
        }
        Span<byte> a = stackalloc byte[4], b = stackalloc byte[4];
        Encode(lo, a);
        Encode(hi, b);
        var seq = new byte[length * 2];
        for (int i = 0; i < length; i++) { seq[2 * i] = a[i]; seq[2 * i + 1] = b[i]; }
        sequences.Add(seq);
    }

    private static int Length(int cp) => cp <= 0x7F ? 1 : cp <= 0x7FF ? 2 : cp <= 0xFFFF ? 3 : 4;

    private static void Encode(int cp, Span<byte> into)
    {
        switch (Length(cp))
        {
            case 1: into[0] = (byte)cp; break;
            case 2: into[0] = (byte)(0xC0 | (cp >> 6)); into[1] = (byte)(0x80 | (cp & 0x3F)); break;
            case 3:
                into[0] = (byte)(0xE0 | (cp >> 12)); into[1] = (byte)(0x80 | ((cp >> 6) & 0x3F)); into[2] = (byte)(0x80 | (cp & 0x3F));
                break;
            default:
                into[0] = (byte)(0xF0 | (cp >> 18)); into[1] = (byte)(0x80 | ((cp >> 12) & 0x3F));
                into[2] = (byte)(0x80 | ((cp >> 6) & 0x3F)); into[3] = (byte)(0x80 | (cp & 0x3F));
                break;
        }
    }
}
