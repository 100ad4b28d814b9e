namespace VllmSharp.Kernels.Reference;

/// <summary>Scalar twin of <see cref="ArgMax"/>.</summary>
public static class ReferenceArgMax
{
    public static int Find(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) throw new ArgumentException("x must not be empty.", nameof(x));
        int best = -1;
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i])) continue;
            if (best < 0 || x[i] > x[best]) best = i; // strict: the first of equal values wins
        }
        return best < 0 ? 0 : best;
    }
}
