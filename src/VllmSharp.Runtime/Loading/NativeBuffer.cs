using System.Runtime.InteropServices;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// Owned unmanaged memory aligned to 64 bytes (one cache line, one AVX-512 vector) so that converted weights are
/// as friendly to the kernels as the mapping is. Freed on <see cref="Dispose"/>.
/// </summary>
internal sealed class NativeBuffer : IDisposable
{
    private const int Alignment = 64;
    private nint _raw;

    public NativeBuffer(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        _raw = Marshal.AllocHGlobal((nint)(bytes + Alignment));
        Address = (_raw + (Alignment - 1)) & ~(nint)(Alignment - 1);
        Length = bytes;
        GC.AddMemoryPressure(bytes + Alignment);
    }

    public nint Address { get; }
    public long Length { get; }

    public void Dispose()
    {
        if (_raw == 0) return;
        Marshal.FreeHGlobal(_raw);
        _raw = 0;
        GC.RemoveMemoryPressure(Length + Alignment);
    }
}
