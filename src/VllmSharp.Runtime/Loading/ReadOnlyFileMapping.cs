using System.IO.MemoryMappedFiles;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// A whole file mapped read-only, with the address of its first byte. The view handle is add-ref'd so that the
/// address stays valid for as long as this object lives, even though the Runtime project may not use unsafe code
/// to take a pointer; tensors are then handed to the kernels as <c>nint</c> into the mapping, with no copy.
/// Used by <see cref="SafetensorsFile"/> and <see cref="Gguf.GgufFile"/>.
/// </summary>
internal sealed class ReadOnlyFileMapping : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private bool _disposed;

    public ReadOnlyFileMapping(string path)
    {
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            bool added = false;
            _view.SafeMemoryMappedViewHandle.DangerousAddRef(ref added);
            Address = _view.SafeMemoryMappedViewHandle.DangerousGetHandle() + (nint)_view.PointerOffset;
        }
        catch
        {
            _map.Dispose();
            throw;
        }
    }

    /// <summary>The address of byte 0 of the file.</summary>
    public nint Address { get; }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.DangerousRelease();
        _view.Dispose();
        _map.Dispose();
    }
}
