using System.Runtime.InteropServices;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// Owned unmanaged memory aligned to 64 bytes (one cache line, one AVX-512 vector) so that converted weights are
/// as friendly to the kernels as the mapping is. Buffers of 2 MiB and more are aligned to 2 MiB and, on Linux,
/// advised to use transparent huge pages: decode streams every weight once per token, and 4 KiB pages cost a
/// TLB miss every 4 KiB of a multi-GB stream. Freed on <see cref="Dispose"/>.
/// </summary>
internal sealed class NativeBuffer : IDisposable
{
    private const int CacheLine = 64;
    private const int HugePage = 2 * 1024 * 1024;
    private const int MadvHugePage = 14;
    private nint _raw;
    private readonly long _allocated;

    public NativeBuffer(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        int alignment = bytes >= HugePage ? HugePage : CacheLine;
        _allocated = bytes + alignment;
        _raw = Marshal.AllocHGlobal((nint)_allocated);
        Address = (_raw + (alignment - 1)) & ~(nint)(alignment - 1);
        Length = bytes;
        if (alignment == HugePage && OperatingSystem.IsLinux())
            _ = Madvise(Address, (nuint)(bytes / HugePage * HugePage), MadvHugePage); // advisory: ignore failure
        GC.AddMemoryPressure(_allocated);
    }

    public nint Address { get; }
    public long Length { get; }

    // DllImport rather than LibraryImport: the latter needs unsafe code, which only VllmSharp.Kernels may use.
    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(nint address, nuint length, int advice);

    public void Dispose()
    {
        if (_raw == 0) return;
        Marshal.FreeHGlobal(_raw);
        _raw = 0;
        GC.RemoveMemoryPressure(_allocated);
    }
}
