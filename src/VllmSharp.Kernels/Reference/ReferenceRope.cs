namespace VllmSharp.Kernels.Reference;

/// <summary>Scalar twin of <see cref="Rope"/>: one pair at a time, angles and products in double.</summary>
public static class ReferenceRope
{
    public static float[] InverseFrequencies(int rotaryDim, double theta, Llama3RopeScaling? scaling = null)
    {
        var result = new float[rotaryDim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double f = Math.Pow(theta, -(2.0 * i) / rotaryDim);
            if (scaling is { } s)
            {
                double wavelen = 2 * Math.PI / f;
                double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / (double)s.LowFreqFactor;
                double highFreqWavelen = s.OriginalMaxPositionEmbeddings / (double)s.HighFreqFactor;
                if (wavelen > lowFreqWavelen) f /= s.Factor;
                else if (wavelen >= highFreqWavelen)
                {
                    double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    f = (1 - smooth) * f / s.Factor + smooth * f;
                }
            }
            result[i] = (float)f;
        }
        return result;
    }

    public static void ComputeCosSin(ReadOnlySpan<int> positions, ReadOnlySpan<float> invFreq, Span<float> cos, Span<float> sin)
    {
        int half = invFreq.Length;
        for (int t = 0; t < positions.Length; t++)
            for (int i = 0; i < half; i++)
            {
                double angle = positions[t] * (double)invFreq[i];
                cos[t * half + i] = (float)Math.Cos(angle);
                sin[t * half + i] = (float)Math.Sin(angle);
            }
    }

    public static void Apply(Span<float> x, int numHeads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, RopeStyle style)
    {
        int numTokens = x.Length / (numHeads * headDim);
        if (numTokens == 0) return;
        int half = cos.Length / numTokens;
        for (int t = 0; t < numTokens; t++)
            for (int h = 0; h < numHeads; h++)
            {
                int head = (t * numHeads + h) * headDim;
                for (int i = 0; i < half; i++)
                {
                    int ia = style == RopeStyle.Neox ? head + i : head + 2 * i;
                    int ib = style == RopeStyle.Neox ? head + i + half : head + 2 * i + 1;
                    double a = x[ia], b = x[ib], c = cos[t * half + i], s = sin[t * half + i];
                    x[ia] = (float)(a * c - b * s);
                    x[ib] = (float)(b * c + a * s);
                }
            }
    }
}
