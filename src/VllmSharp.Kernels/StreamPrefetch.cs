using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace VllmSharp.Kernels;

/// <summary>
/// Software prefetch for the weight streams of decode kernels. Each loop iteration that consumes a span of weight
/// bytes asks for the cache lines <see cref="Distance"/> bytes further on, so DRAM reads are in flight while the
/// current bytes are multiplied. The hardware prefetchers alone kept too little in flight here (Zen 5 VM): a Q8_0
/// GEMV streamed at ~32 GB/s with them and ~45–50 GB/s with this, on a machine whose plain read probe gives ~47.
/// Prefetches never fault, so reading ahead past the end of a matrix is harmless (a few wasted lines per chunk).
/// </summary>
internal static unsafe class StreamPrefetch
{
    /// <summary>How far ahead of the bytes being consumed to fetch (4–8 KiB measured best; 16–32 KiB worse).</summary>
    public const int Distance = 8192;

    /// <summary>Prefetches <paramref name="lines"/> (1–5, a constant at the call site) 64-byte lines from p + Distance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ahead(void* p, int lines)
    {
        if (!Sse.IsSupported) return;
        byte* q = (byte*)p + Distance;
        Sse.Prefetch0(q);
        if (lines > 1) Sse.Prefetch0(q + 64);
        if (lines > 2) Sse.Prefetch0(q + 128);
        if (lines > 3) Sse.Prefetch0(q + 192);
        if (lines > 4) Sse.Prefetch0(q + 256);
    }

    /// <summary>Prefetches every 64-byte line of [p, p + bytes): a run the caller will read soon but that no stream leads into.</summary>
    public static void Range(void* p, long bytes)
    {
        if (!Sse.IsSupported) return;
        for (long o = 0; o < bytes; o += 64) Sse.Prefetch0((byte*)p + o);
    }

    /// <summary>Cache lines that cover <paramref name="bytes"/> consumed per iteration (at most 5).</summary>
    public static int LinesFor(int bytes) => Math.Min(5, (bytes + 63) / 64);
}
