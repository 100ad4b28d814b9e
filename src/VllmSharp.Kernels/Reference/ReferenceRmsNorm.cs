namespace VllmSharp.Kernels.Reference;

/// <summary>Scalar twin of <see cref="RmsNorm"/>: accumulates in double, written for clarity, not speed.</summary>
public static class ReferenceRmsNorm
{
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        int dim = weight.Length;
        if (dim == 0 || x.Length % dim != 0 || y.Length != x.Length) throw new ArgumentException("Shape mismatch.");
        for (int start = 0; start < x.Length; start += dim)
        {
            double sumSquares = 0;
            for (int i = 0; i < dim; i++) sumSquares += (double)x[start + i] * x[start + i];
            double inv = 1.0 / Math.Sqrt(sumSquares / dim + eps);
            for (int i = 0; i < dim; i++) y[start + i] = (float)(x[start + i] * inv * weight[i]);
        }
    }

    public static void AddAndForward(Span<float> residual, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        if (x.Length != residual.Length) throw new ArgumentException("Shape mismatch.");
        for (int i = 0; i < residual.Length; i++) residual[i] += x[i];
        Forward(residual, weight, eps, y);
    }
}
