using System.Numerics;

namespace VllmSharp.Kernels;

/// <summary>Adds a bias vector to every row of a row-major matrix (the qkv bias of Qwen2).</summary>
public static class BiasAdd
{
    /// <summary>y[r, i] += bias[i] for every row r; y.Length must be a multiple of bias.Length.</summary>
    public static void Forward(Span<float> y, ReadOnlySpan<float> bias)
    {
        if (bias.IsEmpty || y.Length % bias.Length != 0)
            throw new ArgumentException($"Length {y.Length} is not a multiple of the bias length {bias.Length}.", nameof(y));
        for (int start = 0; start < y.Length; start += bias.Length)
        {
            Span<float> row = y.Slice(start, bias.Length);
            int i = 0;
            for (; i <= row.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(row[i..]) + new Vector<float>(bias[i..])).CopyTo(row[i..]);
            for (; i < row.Length; i++) row[i] += bias[i];
        }
    }
}
