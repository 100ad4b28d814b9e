namespace VllmSharp.Kernels.Reference;

/// <summary>Scalar twin of <see cref="Softmax"/>, in double.</summary>
public static class ReferenceSoftmax
{
    public static void Forward(Span<float> x)
    {
        double max = double.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v);
        if (double.IsNegativeInfinity(max))
        {
            x.Clear();
            return;
        }
        double sum = 0;
        foreach (float v in x) sum += Math.Exp(v - max);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(Math.Exp(x[i] - max) / sum);
    }
}
