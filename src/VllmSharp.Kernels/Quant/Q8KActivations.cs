using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VllmSharp.Kernels.Quant;

/// <summary>
/// llama.cpp's Q8_K activation form for the K-quant decode kernels: per 256 values one f32 scale d = amax₂₅₆/127 and
/// 256 int8 codes in [−127, 127], plus the integer code sum of every 16 values (int16, |sum| ≤ 2032). One scale per
/// 256 lets <see cref="QuantDotK"/> accumulate a whole weight super-block in int32 (sub-block scales × int dots) and
/// apply one float FMA per super-block; the sums fold the weights' offsets (Q6_K's −32, Q4_K's mins) in exactly.
/// Rounding moves an element by at most d/2 = amax₂₅₆/254.
/// <para>
/// Layout, inside the activation byte buffer of <see cref="QuantMatMul.ActivationBytes"/> at <see cref="Offset"/> rounded up
/// to a 64-byte address (after the per-32 codes, their pair layout and slack), for m rows of cols values (cols a multiple of 256):
/// m·cols codes (row-major), m·cols codes in the Q4_K order (<see cref="Q4KOrder"/>), m·cols/256 f32 scales (padded to
/// 64 bytes), m·cols/16 int16 sums
/// super-block-major (block b of row i at 16·(b·m + i)): the rows a kernel call shares sit side by side, where a row-major
/// layout made the 4-row Q6_K kernel ~2× slower here, then an 8-byte <see cref="Stamp"/>. Only written when cols is a
/// multiple of 256.
/// </para>
/// </summary>
internal static unsafe class Q8KActivations
{
    /// <summary>Byte offset of the Q8_K region from the start of the activation code buffer.</summary>
    public static long Offset(int m, int cols) => 2L * m * cols + 256;

    /// <summary>Bytes of the Q8_K region (0 when cols is not a multiple of 256), with slack for aligning its parts to 64 bytes.</summary>
    public static long Bytes(int m, int cols) => cols % 256 != 0 ? 0 : 2L * m * cols + ScalesBytes(m, cols) + 2L * m * (cols / 16) + 8 + 64;

    /// <summary>
    /// The region's start for an activation buffer at qx: 64-byte aligned, so no 64-byte code load and no 32-byte sum
    /// load splits a cache line.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte* Region(sbyte* qx, int m, int cols) => (sbyte*)(((nint)(qx + Offset(m, cols)) + 63) & ~(nint)63);

    /// <summary>The scales' bytes rounded up to 64, keeping the sums that follow aligned.</summary>
    private static long ScalesBytes(int m, int cols) => (4L * m * (cols / 256) + 63) & ~63L;

    /// <summary>Row i's natural-order codes, given the Q8_K region base.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte* Codes(sbyte* region, int cols, int i) => region + (long)i * cols;

    /// <summary>
    /// Row i's codes reordered for Q4_K: per 128 values [0..32, 64..96, 32..64, 96..128), matching a 64-byte Q4_K
    /// nibble load's low nibbles (sub-blocks 4h, 4h+2) then high nibbles (4h+1, 4h+3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte* Q4KOrder(sbyte* region, int m, int cols, int i) => region + (long)m * cols + (long)i * cols;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Scales(sbyte* region, int m, int cols, int i) => (float*)(region + 2L * m * cols) + (long)i * (cols / 256);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short* Sums16(sbyte* region, int m, int cols, int i) => (short*)(region + 2L * m * cols + ScalesBytes(m, cols)) + 16L * i;

    /// <summary>
    /// Where <see cref="Stamp"/> keeps the <see cref="Fingerprint"/> of the per-32 activations this region was written
    /// with (after the sums).
    /// </summary>
    private static ulong* StampAt(sbyte* region, int m, int cols) => (ulong*)(region + 2L * m * cols + ScalesBytes(m, cols) + 2L * m * (cols / 16));

    /// <summary>
    /// Records that the region holds the Q8_K form of the activations whose per-32 codes and scales are at qx and dx.
    /// </summary>
    public static void Stamp(sbyte* region, sbyte* qx, float* dx, int m, int cols) => *StampAt(region, m, cols) = Fingerprint(qx, dx, m, cols);

    /// <summary>
    /// Whether the region was written for the per-32 activations now at qx and dx. A caller may quantize the per-32
    /// form alone (<see cref="ActivationQuantizer.Quantize"/> directly, as MatMul does when no Q4_0/Q5_0 weight needs the
    /// pair layout), leaving a pooled buffer's region stale from an earlier call; the kernels then fall back to the
    /// per-32 ones instead of reading it. Hashing m·cols code bytes costs ~0.1 µs per 2048 values.
    /// </summary>
    public static bool IsCurrent(sbyte* region, sbyte* qx, float* dx, int m, int cols) => *StampAt(region, m, cols) == Fingerprint(qx, dx, m, cols);

    /// <summary>Multiply-xor hash over 8 uint lanes of the codes and the scales' bits (any change of x̂ changes either).</summary>
    private static ulong Fingerprint(sbyte* qx, float* dx, int m, int cols)
    {
        Vector256<uint> h = Vector256.Create(0x811C9DC5u) + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7), k = Vector256.Create(0x01000193u);
        long bytes = (long)m * cols;
        for (long i = 0; i < bytes; i += 32) h = (h ^ Vector256.Load((uint*)(qx + i))) * k;
        int scales = m * cols / 32, j = 0;
        for (; j + 8 <= scales; j += 8) h = (h ^ Vector256.Load((uint*)(dx + j))) * k;
        ulong result = (ulong)m << 32 | (uint)cols;
        for (; j < scales; j++) result = (result ^ *(uint*)(dx + j)) * 0x100000001B3UL;
        for (int l = 0; l < 8; l++) result = (result ^ h.GetElement(l)) * 0x100000001B3UL;
        return result;
    }

    /// <summary>Quantizes m rows of cols values (cols a multiple of 256) into the region at <paramref name="region"/> (from <see cref="Region"/>).</summary>
    public static void Quantize(float* x, int m, int cols, sbyte* region)
    {
        for (int i = 0; i < m; i++)
        {
            float* xr = x + (long)i * cols;
            sbyte* q = Codes(region, cols, i);
            float* d = Scales(region, m, cols, i);
            short* s = Sums16(region, m, cols, i);
            for (int b = 0; b < cols / 256; b++)
            {
                if (Vector512.IsHardwareAccelerated && !ActivationQuantizer.ForceScalar) Block512(xr + 256 * b, q + 256 * b, d + b, s + 16L * m * b);
                else BlockScalar(xr + 256 * b, q + 256 * b, d + b, s + 16L * m * b);
            }
            sbyte* p = Q4KOrder(region, m, cols, i);
            for (int c = 0; c < cols; c += 128)
            {
                Vector256.Load(q + c).Store(p + c);
                Vector256.Load(q + c + 64).Store(p + c + 32);
                Vector256.Load(q + c + 32).Store(p + c + 64);
                Vector256.Load(q + c + 96).Store(p + c + 96);
            }
        }
    }

    /// <summary>The reference: d = amax/127 and codes round(x·127/amax) half away from zero, as <see cref="ActivationQuantizer"/> per 32.</summary>
    private static void BlockScalar(float* x, sbyte* q, float* scale, short* sums)
    {
        float amax = 0;
        for (int i = 0; i < 256; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
        float id = amax > 0 ? 127f / amax : 0f;
        *scale = amax / 127f;
        for (int j = 0; j < 16; j++)
        {
            int sum = 0;
            for (int i = 16 * j; i < 16 * j + 16; i++)
            {
                int v = Math.Clamp((int)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero), -127, 127);
                q[i] = (sbyte)v;
                sum += v;
            }
            sums[j] = (short)sum;
        }
    }

    /// <summary>Bit-identical to <see cref="BlockScalar"/>: same amax, d, 1/d and exact round-half-away (see <see cref="Code"/>).</summary>
    private static void Block512(float* x, sbyte* q, float* scale, short* sums)
    {
        Vector512<float> m = Vector512<float>.Zero;
        for (int i = 0; i < 256; i += 16) m = Vector512.Max(m, Vector512.Abs(Vector512.Load(x + i)));
        float amax = Max8(Vector256.Max(m.GetLower(), m.GetUpper()));
        float id = amax > 0 ? 127f / amax : 0f;
        *scale = amax / 127f;
        Vector512<float> idv = Vector512.Create(id);
        for (int j = 0; j < 16; j++)
        {
            Vector512<int> c = Code(Vector512.Load(x + 16 * j) * idv);
            sums[j] = (short)Vector512.Sum(c);
            Vector256<short> words = Vector256.Narrow(c.GetLower(), c.GetUpper());
            Vector128.Narrow(words.GetLower(), words.GetUpper()).Store(q + 16 * j);
        }
    }

    private static float Max8(Vector256<float> m8)
    {
        Vector128<float> m4 = Vector128.Max(m8.GetLower(), m8.GetUpper());
        Vector128<float> m2 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
        return Vector128.Max(m2, Vector128.Shuffle(m2, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    /// <summary>
    /// Round half away from zero done exactly (v − trunc(v) is exact in f32, so |frac| ≥ 0.5 decides as MathF.Round
    /// does), then clamp to ±127.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Code(Vector512<float> v)
    {
        Vector512<float> t = Vector512.Truncate(v);
        Vector512<float> up = Vector512.GreaterThanOrEqual(Vector512.Abs(v - t), Vector512.Create(0.5f)) & Vector512.Create(1f);
        Vector512<float> r = t + Vector512.CopySign(up, v);
        return Vector512.ConvertToInt32(Vector512.Clamp(r, Vector512.Create(-127f), Vector512.Create(127f)));
    }
}
