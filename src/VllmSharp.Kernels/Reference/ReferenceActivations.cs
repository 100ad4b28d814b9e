namespace VllmSharp.Kernels.Reference;

/// <summary>Scalar twin of <see cref="Activations"/>, in double.</summary>
public static class ReferenceActivations
{
    public static void SiluAndMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        if (up.Length != gate.Length || y.Length != gate.Length) throw new ArgumentException("Shape mismatch.");
        for (int i = 0; i < gate.Length; i++)
        {
            double g = gate[i];
            double sigmoid = 1.0 / (1.0 + Math.Exp(-g));
            y[i] = (float)(g * sigmoid * up[i]);
        }
    }
}
