using System.Numerics;
using VllmSharp.Core.Outputs;

namespace VllmSharp.Engine.Sampling;

/// <summary>
/// The top-k log-probabilities of a row of logits and the rank of a chosen token, without sorting the vocabulary: one
/// pass keeps a k-long descending list and only values above its current last entry are inserted (a few hundred
/// insertions over a 150k row for k = 20).
/// </summary>
internal static class TopLogprobs
{
    /// <summary>vLLM's default --max-logprobs: the most top logprobs one position can ask for.</summary>
    public const int MaxK = 20;

    /// <summary>
    /// The logprobs of position with logits <paramref name="raw"/>: <paramref name="token"/>'s own and the top
    /// <paramref name="k"/>, as log-softmax values given the row's maximum and log-sum-exp about it.
    /// </summary>
    public static PositionLogprobs Collect(ReadOnlySpan<float> raw, int token, int k, float max, double logSumExp)
    {
        k = Math.Min(k, raw.Length);
        Span<int> ids = stackalloc int[Math.Min(k, MaxK)];
        Span<float> values = stackalloc float[ids.Length];
        int n = Select(raw, ids, values);
        var topIds = ids[..n].ToArray();
        var topLogprobs = new float[n];
        for (int i = 0; i < n; i++) topLogprobs[i] = (float)(values[i] - max - logSumExp);
        float x = raw[token];
        return new PositionLogprobs(token, (float)(x - max - logSumExp), 1 + CountGreater(raw, x), topIds, topLogprobs);
    }

    /// <summary>
    /// Writes the largest values of <paramref name="row"/> (descending; ties keep the lower id first) and their ids;
    /// returns how many (fewer than asked when the row has fewer values above −∞; NaN is never selected).
    /// </summary>
    public static int Select(ReadOnlySpan<float> row, Span<int> ids, Span<float> values)
    {
        int k = ids.Length, n = 0;
        if (k == 0) return 0;
        float last = float.NegativeInfinity; // values must be strictly above this to enter
        for (int i = 0; i < row.Length; i++)
        {
            float x = row[i];
            if (!(x > last)) continue;
            int at = n < k ? n : k - 1;
            while (at > 0 && x > values[at - 1])
            {
                values[at] = values[at - 1];
                ids[at] = ids[at - 1];
                at--;
            }
            values[at] = x;
            ids[at] = i;
            if (n < k) n++;
            if (n == k) last = values[k - 1];
        }
        return n;
    }

    /// <summary>Number of values strictly greater than <paramref name="x"/> (so rank = 1 + this).</summary>
    public static int CountGreater(ReadOnlySpan<float> row, float x)
    {
        int count = 0, i = 0;
        if (Vector.IsHardwareAccelerated && row.Length >= Vector<float>.Count)
        {
            var threshold = new Vector<float>(x);
            var acc = Vector<int>.Zero;
            for (; i <= row.Length - Vector<float>.Count; i += Vector<float>.Count)
                acc -= Vector.GreaterThan(new Vector<float>(row.Slice(i, Vector<float>.Count)), threshold); // true lanes are −1
            count = Vector.Sum(acc);
        }
        for (; i < row.Length; i++)
            if (row[i] > x) count++;
        return count;
    }
}
