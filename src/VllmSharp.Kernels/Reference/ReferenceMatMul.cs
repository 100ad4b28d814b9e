namespace VllmSharp.Kernels.Reference;

/// <summary>Scalar twin of <see cref="MatMul"/>: one double-precision dot product per output element.</summary>
public static class ReferenceMatMul
{
    public static void Forward(ReadOnlySpan<float> x, int m, WeightMatrix weight, Span<float> y)
        => Forward(x, m, new ReadOnlySpan<WeightMatrix>(in weight), y);

    public static void Forward(ReadOnlySpan<float> x, int m, ReadOnlySpan<WeightMatrix> weights, Span<float> y)
    {
        if (weights.IsEmpty) throw new ArgumentException("At least one weight matrix is required.", nameof(weights));
        int k = weights[0].Cols;
        long total = 0;
        foreach (WeightMatrix w in weights)
        {
            if (w.Cols != k) throw new ArgumentException("All weights must have the same Cols.", nameof(weights));
            total += w.Rows;
        }
        if (x.Length != (long)m * k) throw new ArgumentException("x must hold m×k floats.", nameof(x));
        if (y.Length != m * total) throw new ArgumentException("y must hold m×(total rows) floats.", nameof(y));

        long offset = 0;
        foreach (WeightMatrix w in weights)
        {
            for (int i = 0; i < m; i++)
            {
                for (int r = 0; r < w.Rows; r++)
                {
                    double sum = 0;
                    for (int c = 0; c < k; c++)
                        sum += (double)x[i * k + c] * ReferenceConvert.ElementToSingle(w.Data, w.Type, (long)r * k + c);
                    y[(int)(offset + (long)i * w.Rows + r)] = (float)sum;
                }
            }
            offset += (long)m * w.Rows;
        }
    }
}
