namespace VllmSharp.Engine.StructuredOutput;

/// <summary>Sets of Unicode scalar values as sorted inclusive ranges [lo0, hi0, lo1, hi1, …].</summary>
internal static class CodePointSet
{
    public const int MaxCodePoint = 0x10FFFF;

    /// <summary>Sorts, merges, clips to Unicode and removes the surrogates (UTF-8 cannot encode them).</summary>
    public static int[] Normalize(ReadOnlySpan<int> ranges)
    {
        if (ranges.Length % 2 != 0) throw new ArgumentException("Ranges come in (lo, hi) pairs.", nameof(ranges));
        var pairs = new List<(int Lo, int Hi)>(ranges.Length / 2 + 1);
        for (int i = 0; i < ranges.Length; i += 2)
        {
            int lo = Math.Max(0, ranges[i]), hi = Math.Min(MaxCodePoint, ranges[i + 1]);
            if (lo > hi) continue;
            // Cut the surrogate block out.
            if (lo < 0xD800 && hi >= 0xD800) { pairs.Add((lo, 0xD7FF)); lo = 0xE000; }
            else if (lo >= 0xD800 && lo <= 0xDFFF) lo = 0xE000;
            if (hi >= 0xD800 && hi <= 0xDFFF) hi = 0xD7FF;
            if (lo <= hi) pairs.Add((lo, hi));
        }
        pairs.Sort((a, b) => a.Lo.CompareTo(b.Lo));
        var merged = new List<int>(pairs.Count * 2);
        foreach (var (lo, hi) in pairs)
        {
            if (merged.Count > 0 && lo <= merged[^1] + 1)
            {
                merged[^1] = Math.Max(merged[^1], hi);
                continue;
            }
            merged.Add(lo);
            merged.Add(hi);
        }
        return [.. merged];
    }

    /// <summary>Everything in [0, 0x10FFFF] that is not in <paramref name="set"/> (a normalized set).</summary>
    public static int[] Complement(ReadOnlySpan<int> set)
    {
        var result = new List<int>(set.Length + 2);
        int next = 0;
        for (int i = 0; i < set.Length; i += 2)
        {
            if (set[i] > next) { result.Add(next); result.Add(set[i] - 1); }
            next = set[i + 1] + 1;
        }
        if (next <= MaxCodePoint) { result.Add(next); result.Add(MaxCodePoint); }
        return Normalize([.. result]);
    }

    /// <summary>Ranges with <paramref name="remove"/> taken out (both normalized).</summary>
    public static int[] Subtract(ReadOnlySpan<int> set, ReadOnlySpan<int> remove)
    {
        int[] keep = Complement(remove);
        var result = new List<int>();
        int i = 0, j = 0;
        while (i < set.Length && j < keep.Length)
        {
            int lo = Math.Max(set[i], keep[j]), hi = Math.Min(set[i + 1], keep[j + 1]);
            if (lo <= hi) { result.Add(lo); result.Add(hi); }
            if (set[i + 1] < keep[j + 1]) i += 2; else j += 2;
        }
        return [.. result];
    }

    public static bool Contains(ReadOnlySpan<int> set, int codePoint)
    {
        for (int i = 0; i < set.Length; i += 2)
            if (codePoint >= set[i] && codePoint <= set[i + 1]) return true;
        return false;
    }
}
