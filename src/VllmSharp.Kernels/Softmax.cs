namespace VllmSharp.Kernels;

/// <summary>Numerically stable softmax over one row.</summary>
public static unsafe class Softmax
{
    /// <summary>
    /// In place: x[i] = exp(x[i] − max) / Σ exp(x[j] − max). −∞ entries become 0; a row with no finite-or-+∞
    /// entry (all −∞) becomes all zeros, since no outcome is allowed.
    /// </summary>
    public static void Forward(Span<float> x)
    {
        if (x.IsEmpty) return;
        fixed (float* p = x)
        {
            float max = ElementwiseSimd.Max(p, x.Length);
            if (float.IsNegativeInfinity(max))
            {
                x.Clear();
                return;
            }
            float sum = ElementwiseSimd.ExpSubtractMax(p, x.Length, max);
            ElementwiseSimd.Scale(p, 1f / sum, x.Length);
        }
    }
}
