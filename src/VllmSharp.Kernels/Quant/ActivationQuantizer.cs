namespace VllmSharp.Kernels.Quant;

/// <summary>
/// Quantizes activation rows on the fly to 8 bits per 32-value block (Q8_0-style: scale = amax/127, f32 scale so no
/// extra rounding), plus the sum of each 16-value half (codes × scale, i.e. the dequantized half-sum). The sums let the kernels apply the weight formats'
/// offsets (Q4_0's −8, Q4_K's min, Q6_K's −32) once per block instead of per element. One scale per 32 values (not
/// llama.cpp's one per 256 for K-quants) keeps the error at ≤ amax₃₂/254 per element at no cost: the K-quant
/// kernels apply a float scale per sub-block anyway.
/// </summary>
internal static unsafe class ActivationQuantizer
{
    /// <param name="x">n values, n a multiple of 32.</param>
    /// <param name="q">n codes in [−127, 127].</param>
    /// <param name="scale">n/32 block scales.</param>
    /// <param name="sum16">n/16 sums of codes, each times its block scale.</param>
    public static void Quantize(float* x, int n, sbyte* q, float* scale, float* sum16)
    {
        for (int b = 0; b < n / 32; b++)
        {
            float* xb = x + 32 * b;
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = MathF.Max(amax, MathF.Abs(xb[i]));
            float d = amax / 127f, id = amax > 0 ? 127f / amax : 0f;
            scale[b] = d;
            for (int h = 0; h < 2; h++)
            {
                int sum = 0;
                for (int i = 16 * h; i < 16 * h + 16; i++)
                {
                    int v = Math.Clamp((int)MathF.Round(xb[i] * id, MidpointRounding.AwayFromZero), -127, 127);
                    q[32 * b + i] = (sbyte)v;
                    sum += v;
                }
                sum16[2 * b + h] = sum * d;
            }
        }
    }
}
