using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
    /// <param name="blockSums">n/32 integer sums of each block's codes (lets the VNNI kernels offset the weights to unsigned exactly).</param>
    public static void Quantize(float* x, int n, sbyte* q, float* scale, float* sum16, int* blockSums)
    {
        if (Vector256.IsHardwareAccelerated && !ForceScalar)
        {
            for (int b = 0; b < n / 32; b++) QuantizeBlock256(x + 32 * b, q + 32 * b, scale + b, sum16 + 2 * b, blockSums + b);
            return;
        }
        for (int b = 0; b < n / 32; b++)
        {
            float* xb = x + 32 * b;
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = MathF.Max(amax, MathF.Abs(xb[i]));
            float d = amax / 127f, id = amax > 0 ? 127f / amax : 0f;
            scale[b] = d;
            int blockSum = 0;
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
                blockSum += sum;
            }
            blockSums[b] = blockSum;
        }
    }

    /// <summary>Test hook: use the scalar loop even where 256-bit vectors are available.</summary>
    [ThreadStatic] internal static bool ForceScalar;

    /// <summary>
    /// One block with 256-bit vectors, bit-identical to the scalar loop: the same amax, d and 1/d, and round half away
    /// from zero done exactly (the fraction v − trunc(v) is exact in f32, so |frac| ≥ 0.5 decides as MathF.Round does).
    /// Decode quantizes every activation row on one thread before the parallel loop, so this is on the critical path.
    /// </summary>
    private static void QuantizeBlock256(float* x, sbyte* q, float* scale, float* sum16, int* blockSum)
    {
        Vector256<float> x0 = Vector256.Load(x), x1 = Vector256.Load(x + 8), x2 = Vector256.Load(x + 16), x3 = Vector256.Load(x + 24);
        Vector256<float> m8 = Vector256.Max(Vector256.Max(Vector256.Abs(x0), Vector256.Abs(x1)), Vector256.Max(Vector256.Abs(x2), Vector256.Abs(x3)));
        Vector128<float> m4 = Vector128.Max(m8.GetLower(), m8.GetUpper());
        Vector128<float> m2 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
        float amax = Vector128.Max(m2, Vector128.Shuffle(m2, Vector128.Create(1, 0, 3, 2))).ToScalar();
        float d = amax / 127f, id = amax > 0 ? 127f / amax : 0f;
        *scale = d;
        Vector256<float> idv = Vector256.Create(id);
        Vector256<int> c0 = Code(x0 * idv), c1 = Code(x1 * idv), c2 = Code(x2 * idv), c3 = Code(x3 * idv);
        Vector256.Narrow(Vector256.Narrow(c0, c1), Vector256.Narrow(c2, c3)).Store(q);
        int s0 = Vector256.Sum(c0 + c1), s1 = Vector256.Sum(c2 + c3);
        sum16[0] = s0 * d;
        sum16[1] = s1 * d;
        *blockSum = s0 + s1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Code(Vector256<float> v)
    {
        Vector256<float> t = Vector256.Truncate(v);
        Vector256<float> up = Vector256.GreaterThanOrEqual(Vector256.Abs(v - t), Vector256.Create(0.5f)) & Vector256.Create(1f);
        Vector256<float> r = t + Vector256.CopySign(up, v);
        return Vector256.ConvertToInt32(Vector256.Clamp(r, Vector256.Create(-127f), Vector256.Create(127f)));
    }
}
