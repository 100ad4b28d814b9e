using VllmSharp.Kernels.Quant;

namespace VllmSharp.Kernels.Tests.Quant;

/// <summary>Seeded inputs shaped like real weights/activations, with block-to-block magnitude changes so scales matter.</summary>
internal static class QuantTestData
{
    public static float[] Weights(Random rng, int count)
    {
        float[] w = new float[count];
        for (int b = 0; b < count / 32; b++)
        {
            float magnitude = (float)Math.Pow(10, rng.NextDouble() * 3 - 2); // 0.01 .. 10
            int kind = rng.Next(4); // mixed signs, all positive, all negative, one outlier
            for (int i = 0; i < 32; i++)
            {
                float v = (float)(rng.NextDouble() * 2 - 1) * magnitude;
                w[32 * b + i] = kind switch { 1 => MathF.Abs(v), 2 => -MathF.Abs(v), _ => v };
            }
            if (kind == 3) w[32 * b + rng.Next(32)] *= 8;
        }
        return w;
    }

    public static float[] Activations(Random rng, int count)
    {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        return x;
    }

    public static byte[] Quantize(float[] w, QuantType type)
    {
        byte[] q = new byte[QuantFormat.RowBytes(type, w.Length)];
        Quantizer.Quantize(w, type, q);
        return q;
    }

    public static readonly QuantType[] AllTypes = [QuantType.Q8_0, QuantType.Q4_0, QuantType.Q4_K, QuantType.Q6_K, QuantType.Q5_0];
}
