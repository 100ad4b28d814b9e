using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>Converts a whole tensor between dtypes in parallel, through small f32 chunks on the stack.</summary>
internal static class DTypeConversion
{
    private const int ChunkElements = 1 << 16; // work item size: big enough to amortise dispatch
    private const int StackElements = 1024;    // 4 KiB of f32 on each worker's stack

    public static void Convert(nint src, DType srcType, nint dst, DType dstType, long elements)
    {
        if (elements <= 0) return;
        var job = new Job(src, srcType, dst, dstType, elements);
        WorkerPool.Shared.For((int)((elements + ChunkElements - 1) / ChunkElements), ref job);
    }

    private readonly struct Job(nint src, DType srcType, nint dst, DType dstType, long elements) : IParallelJob
    {
        public void Execute(int index)
        {
            long start = (long)index * ChunkElements;
            long end = Math.Min(elements, start + ChunkElements);
            Span<float> scratch = stackalloc float[StackElements];
            int srcSize = srcType.SizeInBytes(), dstSize = dstType.SizeInBytes();
            for (long i = start; i < end; i += StackElements)
            {
                Span<float> part = scratch[..(int)Math.Min(StackElements, end - i)];
                DTypeConvert.ToSingle(src + (nint)(i * srcSize), srcType, part);
                DTypeConvert.FromSingle(part, dstType, dst + (nint)(i * dstSize));
            }
        }
    }
}
