using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels;

public static unsafe partial class MatMul
{
    /// <summary>
    /// The handful of vector operations the kernels need, abstracted over the register width so that one
    /// generic kernel serves AVX-512, AVX2 and scalar code. Implementations are structs with static members:
    /// the JIT specialises each kernel per struct and inlines every call, so the abstraction costs nothing.
    /// </summary>
    internal interface IVectorOps<TV> where TV : struct
    {
        /// <summary>f32 lanes per vector.</summary>
        static abstract int Count { get; }
        /// <summary>Vectors per micro-kernel strip (NR = StripVectors × Count): sized to the register file.</summary>
        static abstract int StripVectors { get; }
        static abstract TV Zero { get; }
        static abstract TV Load(float* p);
        static abstract void Store(float* p, TV v);
        static abstract TV Broadcast(float value);
        /// <summary>a × b + c.</summary>
        static abstract TV Fma(TV a, TV b, TV c);
        static abstract TV Add(TV a, TV b);
        static abstract float Sum(TV v);
        /// <summary>Loads Count bf16 values and widens them to f32 (exact).</summary>
        static abstract TV LoadBf16(ushort* p);
        /// <summary>Loads Count f16 values and widens them to f32 (exact, inf/NaN preserved).</summary>
        static abstract TV LoadF16(ushort* p);
    }

    // 2^112 rescales an f16 exponent (bias 15) placed in an f32 exponent field (bias 127); exact, also for subnormals.
    private const float F16ExponentRebias = 5.192296858534828E+33f;

    internal readonly struct Ops512 : IVectorOps<Vector512<float>>
    {
        public static int Count => 16;
        public static int StripVectors => 4; // 6×4 accumulators + 4 B vectors + 1 broadcast = 29 of 32 zmm
        public static Vector512<float> Zero => Vector512<float>.Zero;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(float* p) => Vector512.Load(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(float* p, Vector512<float> v) => v.Store(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c)
            => Avx512F.FusedMultiplyAdd(a, b, c);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(Vector512<float> v) => Vector512.Sum(v);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> LoadBf16(ushort* p)
            => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Vector256.Load(p)), 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> LoadF16(ushort* p)
        {
            Vector512<uint> h = Avx512F.ConvertToVector512UInt32(Vector256.Load(p));
            Vector512<uint> sign = Avx512F.ShiftLeftLogical(h & Vector512.Create(0x8000u), 16);
            Vector512<uint> magnitude = Avx512F.ShiftLeftLogical(h & Vector512.Create(0x7FFFu), 13);
            Vector512<float> finite = magnitude.AsSingle() * Vector512.Create(F16ExponentRebias);
            // Inf/NaN (f16 exponent 31): keep the mantissa (so NaN stays NaN) under an all-ones f32 exponent.
            Vector512<uint> special = Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(0x7C00u << 13));
            Vector512<uint> bits = Vector512.ConditionalSelect(special, magnitude | Vector512.Create(0x7F800000u), finite.AsUInt32());
            return (bits | sign).AsSingle();
        }
    }

    internal readonly struct Ops256 : IVectorOps<Vector256<float>>
    {
        public static int Count => 8;
        public static int StripVectors => 2; // 6×2 accumulators + 2 B vectors + 1 broadcast = 15 of 16 ymm
        public static Vector256<float> Zero => Vector256<float>.Zero;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(float* p) => Vector256.Load(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(float* p, Vector256<float> v) => v.Store(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c)
            => Vector256.FusedMultiplyAdd(a, b, c);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(Vector256<float> v) => Vector256.Sum(v);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> LoadBf16(ushort* p)
            => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Vector128.Load(p)), 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> LoadF16(ushort* p)
        {
            Vector256<uint> h = Avx2.ConvertToVector256Int32(Vector128.Load(p)).AsUInt32();
            Vector256<uint> sign = Avx2.ShiftLeftLogical(h & Vector256.Create(0x8000u), 16);
            Vector256<uint> magnitude = Avx2.ShiftLeftLogical(h & Vector256.Create(0x7FFFu), 13);
            Vector256<float> finite = magnitude.AsSingle() * Vector256.Create(F16ExponentRebias);
            // Signed compare is fine: magnitude < 2^28.
            Vector256<uint> special = Vector256.GreaterThan(magnitude.AsInt32(), Vector256.Create((0x7C00 << 13) - 1)).AsUInt32();
            Vector256<uint> bits = Vector256.ConditionalSelect(special, magnitude | Vector256.Create(0x7F800000u), finite.AsUInt32());
            return (bits | sign).AsSingle();
        }
    }

    /// <summary>Width-1 "vectors": the portable fallback used when neither AVX2 nor AVX-512 is available.</summary>
    internal readonly struct OpsScalar : IVectorOps<float>
    {
        public static int Count => 1;
        public static int StripVectors => 2;
        public static float Zero => 0f;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Load(float* p) => *p;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(float* p, float v) => *p = v;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Broadcast(float value) => value;

        // Plain multiply-add: MathF.FusedMultiplyAdd is emulated in software (very slow) without FMA hardware.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Fma(float a, float b, float c) => a * b + c;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Add(float a, float b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(float v) => v;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LoadBf16(ushort* p) => Bf16ToSingle(*p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LoadF16(ushort* p) => F16ToSingle(*p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Bf16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float F16ToSingle(ushort bits)
    {
        uint sign = (uint)(bits & 0x8000) << 16;
        uint magnitude = (uint)(bits & 0x7FFF) << 13;
        uint result = magnitude >= 0x7C00u << 13
            ? magnitude | 0x7F800000u
            : BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(magnitude) * F16ExponentRebias);
        return BitConverter.UInt32BitsToSingle(result | sign);
    }
}
