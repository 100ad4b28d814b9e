using System.Runtime.InteropServices;
using Xunit;

namespace VllmSharp.Kernels.Tests.Quant;

/// <summary>
/// Quantized weights used in place from a memory-mapped GGUF can end exactly at the end of the mapping. Every kernel
/// (all tiers, GEMV and GEMM paths, embedding) must not read a byte past the last block: the weight here ends right
/// before an inaccessible page, so an over-read crashes the test host instead of passing silently.
/// </summary>
public sealed unsafe class GuardPageTests
{
    private const int ProtNone = 0, ProtRead = 1, ProtWrite = 2, MapPrivate = 0x02, MapAnonymous = 0x20;

    [DllImport("libc", SetLastError = true)]
    private static extern nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int mprotect(nint addr, nuint length, int prot);

    [DllImport("libc", SetLastError = true)]
    private static extern int munmap(nint addr, nuint length);

    [Theory]
    [InlineData(DType.Q8_0, 416)] // 13 blocks: one group of 8 and a masked group of 5
    [InlineData(DType.Q4_0, 416)]
    [InlineData(DType.Q5_0, 416)]
    [InlineData(DType.Q8_0, 256)] // exactly one group: the last block is the row's last byte
    [InlineData(DType.Q4_0, 256)]
    [InlineData(DType.Q5_0, 256)]
    [InlineData(DType.Q4_K, 512)]
    [InlineData(DType.Q6_K, 512)]
    public void Forward_WeightEndingAtInaccessiblePage_ReadsNothingPastIt(DType type, int cols)
    {
        if (!OperatingSystem.IsLinux()) return; // mmap/mprotect via libc
        const int rows = 5;
        using var source = new QuantWeight(new Random(70 + cols + (int)type), type, rows, cols);
        long bytes = source.Matrix.SizeInBytes;
        nuint page = (nuint)Environment.SystemPageSize;
        nuint dataPages = ((nuint)bytes + page - 1) / page * page;
        nint region = mmap(0, dataPages + page, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        Assert.NotEqual(-1, region);
        try
        {
            Assert.Equal(0, mprotect(region + (nint)dataPages, page, ProtNone));
            nint data = region + (nint)dataPages - (nint)bytes; // last weight byte is the last accessible byte
            Buffer.MemoryCopy((void*)source.Matrix.Data, (void*)data, bytes, bytes);
            var w = source.Matrix with { Data = data };

            var rng = new Random(3);
            foreach (int tier in new[] { 1, 2, 3 })
                foreach (int m in new[] { 1, 2, 5, 20 })
                {
                    float[] x = QuantTestData.Activations(rng, m * cols);
                    float[] guarded = new float[m * rows], reference = new float[m * rows];
                    int saved = MatMul.ForcedTier;
                    MatMul.ForcedTier = tier;
                    try
                    {
                        MatMul.Forward(x, m, w, guarded);
                        MatMul.Forward(x, m, source.Matrix, reference);
                    }
                    finally { MatMul.ForcedTier = saved; }
                    Assert.Equal(reference, guarded); // same bytes, same kernels: identical results
                }

            float[] row = new float[cols];
            Embedding.Lookup(w, [rows - 1], row);
            Assert.Equal(source.Dequantized.AsSpan((rows - 1) * cols, cols).ToArray(), row);
        }
        finally
        {
            _ = munmap(region, dataPages + page);
        }
    }
}
