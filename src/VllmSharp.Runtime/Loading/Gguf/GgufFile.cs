namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// One GGUF file (versions 2 and 3). The header is parsed and validated when the file is opened, so that a bad
/// file fails with one clear <see cref="ModelLoadException"/> before any weight is touched; tensor data is then
/// used in place from a read-only memory mapping, as <see cref="SafetensorsFile"/> does.
/// </summary>
public sealed class GgufFile : IDisposable
{
    private readonly Dictionary<string, object> _metadata;
    private readonly List<GgufTensorInfo> _tensors;
    private readonly Dictionary<string, GgufTensorInfo> _byName;
    private readonly ReadOnlyFileMapping? _mapping;
    private bool _disposed;

    private GgufFile(string path, long fileLength, GgufHeaderParser.Header header)
    {
        Path = path;
        FileLength = fileLength;
        Version = header.Version;
        Alignment = header.Alignment;
        DataOffset = header.DataOffset;
        _metadata = header.Metadata;
        nint dataStart = 0;
        if (header.Tensors.Count > 0 && fileLength > 0)
        {
            _mapping = new ReadOnlyFileMapping(path);
            dataStart = _mapping.Address + (nint)header.DataOffset;
        }
        _tensors = new List<GgufTensorInfo>(header.Tensors.Count);
        _byName = new Dictionary<string, GgufTensorInfo>(header.Tensors.Count, StringComparer.Ordinal);
        foreach (GgufHeaderParser.RawTensor t in header.Tensors)
        {
            var info = new GgufTensorInfo(t.Name, t.Dims, t.Type, t.Offset, dataStart + (nint)t.Offset, t.ByteLength);
            _tensors.Add(info);
            _byName.Add(t.Name, info);
        }
    }

    public string Path { get; }
    public long FileLength { get; }
    /// <summary>2 or 3 (they differ only in v3 allowing big-endian files, which are refused).</summary>
    public uint Version { get; }
    /// <summary><c>general.alignment</c>, or 32 when absent.</summary>
    public int Alignment { get; }
    /// <summary>Byte offset of the data section in the file; tensor offsets are relative to it.</summary>
    public long DataOffset { get; }

    /// <summary>
    /// Keys in file order. Scalars are their CLR types (byte, sbyte, ushort, short, uint, int, float, bool, string,
    /// ulong, long, double); arrays are typed arrays (string[] for strings, bool[] for bools) and arrays of arrays
    /// are object[] of arrays.
    /// </summary>
    public IReadOnlyDictionary<string, object> Metadata => _metadata;

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    /// <summary>The value of <paramref name="key"/> as <typeparamref name="T"/>; throws if absent or of another type.</summary>
    public T Get<T>(string key) =>
        TryGet(key, out T value) ? value : throw new ModelLoadException(Path, $"metadata key '{key}' not found (expected {GgufValueConversion.Describe(typeof(T))})");

    /// <summary>
    /// False when <paramref name="key"/> is absent. A key that is present with a value that cannot be converted
    /// losslessly to <typeparamref name="T"/> throws: a wrong type means inconsistent metadata, which a default
    /// would hide.
    /// </summary>
    public bool TryGet<T>(string key, out T value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!_metadata.TryGetValue(key, out object? stored)) { value = default!; return false; }
        if (!GgufValueConversion.TryConvert(stored, typeof(T), out object? converted))
            throw new ModelLoadException(Path,
                $"metadata key '{key}' is {GgufValueConversion.Describe(stored)}, expected {GgufValueConversion.Describe(typeof(T))}");
        value = (T)converted!;
        return true;
    }

    public bool ContainsTensor(string name) => _byName.ContainsKey(name);

    public GgufTensorInfo GetTensor(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _byName.TryGetValue(name, out GgufTensorInfo? t) ? t : throw new ModelLoadException(Path, $"tensor '{name}' not found");
    }

    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new ModelLoadException(path, "file not found");
        GgufHeaderParser.Header header;
        long fileLength;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            fileLength = stream.Length;
            header = GgufHeaderParser.Parse(new GgufStreamReader(stream, path, fileLength));
        }
        catch (IOException e) { throw new ModelLoadException(path, "cannot read: " + e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new ModelLoadException(path, "cannot read: " + e.Message, e); }
        ValidateExtents(path, header, fileLength);
        try { return new GgufFile(path, fileLength, header); }
        catch (IOException e) { throw new ModelLoadException(path, "cannot map: " + e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new ModelLoadException(path, "cannot map: " + e.Message, e); }
    }

    private static void ValidateExtents(string path, GgufHeaderParser.Header header, long fileLength)
    {
        List<GgufHeaderParser.RawTensor> tensors = header.Tensors;
        if (tensors.Count == 0) return; // vocab-only files may end right after the header, without padding
        long dataLength = fileLength - header.DataOffset;
        var order = new (long Begin, long End, string Name)[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            GgufHeaderParser.RawTensor t = tensors[i];
            if (t.Offset > dataLength || t.ByteLength > dataLength - t.Offset)
                throw new ModelLoadException(path,
                    $"truncated: tensor '{t.Name}' ({t.Type} [{string.Join(", ", t.Dims)}], {t.ByteLength} bytes at data offset {t.Offset}) " +
                    $"ends at byte {header.DataOffset + t.Offset + t.ByteLength} but the file has {fileLength} bytes");
            order[i] = (t.Offset, t.Offset + t.ByteLength, t.Name);
        }
        TensorExtents.CheckNoOverlap(path, order);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _mapping?.Dispose();
    }
}
