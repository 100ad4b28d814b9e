using System.Runtime.CompilerServices;

namespace VllmSharp.Kernels;

public static unsafe partial class MatMul
{
    /// <summary>
    /// Reads weights of one storage dtype as f32, in registers. A type parameter rather than a runtime switch so
    /// each kernel is compiled once per dtype with the conversion inlined into its inner loop.
    /// </summary>
    internal interface IWeightLoad
    {
        static abstract int ElementSize { get; }
        static abstract TV Load<TOps, TV>(byte* p) where TOps : struct, IVectorOps<TV> where TV : struct;
        static abstract float LoadScalar(byte* p);
    }

    internal readonly struct LoadF32 : IWeightLoad
    {
        public static int ElementSize => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TOps, TV>(byte* p) where TOps : struct, IVectorOps<TV> where TV : struct => TOps.Load((float*)p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LoadScalar(byte* p) => *(float*)p;
    }

    internal readonly struct LoadBf16 : IWeightLoad
    {
        public static int ElementSize => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TOps, TV>(byte* p) where TOps : struct, IVectorOps<TV> where TV : struct => TOps.LoadBf16((ushort*)p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LoadScalar(byte* p) => Bf16ToSingle(*(ushort*)p);
    }

    internal readonly struct LoadF16 : IWeightLoad
    {
        public static int ElementSize => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Load<TOps, TV>(byte* p) where TOps : struct, IVectorOps<TV> where TV : struct => TOps.LoadF16((ushort*)p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LoadScalar(byte* p) => F16ToSingle(*(ushort*)p);
    }

    /// <summary>A compile-time row count: lets one GEMV kernel body be specialised for 1..4 activation rows.</summary>
    internal interface IRowCount { static abstract int Value { get; } }
    internal readonly struct Rows1 : IRowCount { public static int Value => 1; }
    internal readonly struct Rows2 : IRowCount { public static int Value => 2; }
    internal readonly struct Rows3 : IRowCount { public static int Value => 3; }
    internal readonly struct Rows4 : IRowCount { public static int Value => 4; }
}
