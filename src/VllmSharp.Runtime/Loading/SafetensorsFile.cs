using System.Text.Json;
using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// One .safetensors file, memory-mapped read-only. Layout: an 8-byte little-endian header length N, N bytes of
/// JSON <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}</c>, then the data, with
/// offsets relative to the first data byte. Everything is validated when the file is opened so that a bad file
/// fails with one clear message before any weight is touched; tensor data is then used in place.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    // The reference implementation refuses headers above 100 MB; a larger one means a corrupt length.
    private const long MaxHeaderBytes = 100_000_000;

    private readonly Dictionary<string, Entry> _entries;
    private readonly List<string> _names;
    private readonly ReadOnlyFileMapping? _mapping;
    private readonly nint _dataStart;
    private bool _disposed;

    private readonly record struct Entry(string DType, long[] Shape, long Begin, long End);

    private SafetensorsFile(string path, Dictionary<string, Entry> entries, List<string> names,
        IReadOnlyDictionary<string, string> metadata, long dataOffset, long fileLength)
    {
        Path = path;
        _entries = entries;
        _names = names;
        Metadata = metadata;
        FileLength = fileLength;
        if (fileLength > dataOffset)
        {
            _mapping = new ReadOnlyFileMapping(path);
            _dataStart = _mapping.Address + (nint)dataOffset;
        }
    }

    public string Path { get; }
    public long FileLength { get; }
    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyList<string> TensorNames => _names;
    /// <summary>The header's "__metadata__" string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The safetensors dtype name as stored (e.g. "BF16", "I8").</summary>
    public string StoredDType(string name) => Find(name).DType;

    /// <summary>The tensor; throws <see cref="ModelLoadException"/> if it is missing or not F32/F16/BF16.</summary>
    public TensorInfo GetTensor(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Entry e = Find(name);
        DType type = SafetensorsDTypes.TryParseSupported(e.DType, out DType t) ? t
            : throw new ModelLoadException(Path, $"tensor '{name}' has dtype {e.DType}, which is not supported (supported: {SafetensorsDTypes.SupportedList})");
        return new TensorInfo(name, type, e.Shape, _dataStart + (nint)e.Begin, Path);
    }

    private Entry Find(string name) =>
        _entries.TryGetValue(name, out Entry e) ? e : throw new ModelLoadException(Path, $"tensor '{name}' not found");

    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new ModelLoadException(path, "file not found");
        byte[] header;
        long fileLength;
        try
        {
            using FileStream stream = File.OpenRead(path);
            fileLength = stream.Length;
            if (fileLength < 8)
                throw new ModelLoadException(path, $"not a safetensors file: {fileLength} bytes is too short for the 8-byte header length");
            Span<byte> lengthBytes = stackalloc byte[8];
            stream.ReadExactly(lengthBytes);
            ulong headerLength = BitConverter.IsLittleEndian
                ? BitConverter.ToUInt64(lengthBytes)
                : System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength > (ulong)(fileLength - 8))
                throw new ModelLoadException(path, $"header length {headerLength} is beyond the file ({fileLength} bytes); the file is truncated or not safetensors");
            if (headerLength > MaxHeaderBytes)
                throw new ModelLoadException(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
            header = new byte[headerLength];
            stream.ReadExactly(header);
        }
        catch (IOException e) { throw new ModelLoadException(path, "cannot read: " + e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new ModelLoadException(path, "cannot read: " + e.Message, e); }

        long dataOffset = 8 + header.Length;
        var (entries, names, metadata) = ParseHeader(header, path);
        ValidateOffsets(entries, names, path, dataOffset, fileLength);
        return new SafetensorsFile(path, entries, names, metadata, dataOffset, fileLength);
    }

    private static (Dictionary<string, Entry>, List<string>, Dictionary<string, string>) ParseHeader(byte[] header, string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new ModelLoadException(path, "invalid JSON header: " + e.Message.Split('\n')[0], e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelLoadException(path, "invalid header: not a JSON object");
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            var names = new List<string>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind == JsonValueKind.Object)
                        foreach (JsonProperty m in p.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                if (entries.ContainsKey(p.Name)) throw new ModelLoadException(path, $"invalid header: tensor '{p.Name}' appears twice");
                entries[p.Name] = ParseEntry(p.Name, p.Value, path);
                names.Add(p.Name);
            }
            return (entries, names, metadata);
        }
    }

    private static Entry ParseEntry(string name, JsonElement v, string path)
    {
        ModelLoadException Bad(string what) => new(path, $"invalid header: tensor '{name}' {what}");
        if (v.ValueKind != JsonValueKind.Object) throw Bad("is not a JSON object");
        if (!v.TryGetProperty("dtype", out JsonElement dt) || dt.ValueKind != JsonValueKind.String) throw Bad("has no string 'dtype'");
        string dtype = dt.GetString()!;
        if (SafetensorsDTypes.SizeOf(dtype) == 0)
            throw new ModelLoadException(path, $"tensor '{name}' has unknown dtype '{dtype}'");
        if (!v.TryGetProperty("shape", out JsonElement sh) || sh.ValueKind != JsonValueKind.Array) throw Bad("has no 'shape' list");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (JsonElement d in sh.EnumerateArray())
            shape[i++] = d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out long n) && n >= 0 ? n : throw Bad("has a shape entry that is not a non-negative integer");
        if (!v.TryGetProperty("data_offsets", out JsonElement off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad("has no 'data_offsets' pair");
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Bad($"has invalid data_offsets {off.GetRawText()}");
        return new Entry(dtype, shape, begin, end);
    }

    private static void ValidateOffsets(Dictionary<string, Entry> entries, List<string> names, string path, long dataOffset, long fileLength)
    {
        long dataLength = fileLength - dataOffset;
        var order = new (long Begin, long End, string Name)[names.Count];
        for (int i = 0; i < names.Count; i++)
        {
            Entry e = entries[names[i]];
            long elements = 1;
            foreach (long d in e.Shape) elements = checked(elements * d);
            long expected = checked(elements * SafetensorsDTypes.SizeOf(e.DType));
            if (e.End - e.Begin != expected)
                throw new ModelLoadException(path,
                    $"tensor '{names[i]}' has data_offsets [{e.Begin}, {e.End}] ({e.End - e.Begin} bytes) but shape [{string.Join(", ", e.Shape)}] of {e.DType} needs {expected} bytes");
            if (e.End > dataLength)
                throw new ModelLoadException(path,
                    $"truncated: tensor '{names[i]}' ends at byte {dataOffset + e.End} but the file has {fileLength} bytes");
            order[i] = (e.Begin, e.End, names[i]);
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
