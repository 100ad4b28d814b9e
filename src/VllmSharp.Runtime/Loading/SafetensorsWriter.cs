using System.Text.Json;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// Writes a .safetensors file as a stream: the header (all tensors declared up front, laid out back to back in
/// declaration order) is written at construction, then the data is appended in any slice sizes, so a tensor never
/// has to be held in memory whole. The header is padded with spaces to a multiple of 8 bytes, as the reference
/// writer does, so that the data (and every f32/f16/bf16 tensor in it) starts aligned.
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly long _totalData;
    private long _written;
    private bool _completed;

    public SafetensorsWriter(string path, IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        Path = path;
        byte[] header = BuildHeader(tensors, metadata, out _totalData);
        _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        _stream.Write(length);
        _stream.Write(header);
    }

    public string Path { get; }

    /// <summary>Data bytes still expected before <see cref="Complete"/>.</summary>
    public long BytesRemaining => _totalData - _written;

    /// <summary>Appends the next bytes of tensor data (tensors in declaration order, each in its stored dtype).</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.Length > BytesRemaining)
            throw new InvalidOperationException($"{Path}: {data.Length} bytes appended but only {BytesRemaining} remain to be written");
        _stream.Write(data);
        _written += data.Length;
    }

    /// <summary>Checks every declared byte was written and flushes the file.</summary>
    public void Complete()
    {
        if (BytesRemaining != 0)
            throw new InvalidOperationException($"{Path}: {BytesRemaining} bytes of tensor data were never written");
        _stream.Flush();
        _completed = true;
    }

    /// <summary>Writes a whole file from in-memory tensors (for small files and tests).</summary>
    public static void Write(string path, IReadOnlyList<(SafetensorsEntry Entry, byte[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = new SafetensorsEntry[tensors.Count];
        for (int i = 0; i < entries.Length; i++) entries[i] = tensors[i].Entry;
        using var writer = new SafetensorsWriter(path, entries, metadata);
        foreach (var (entry, data) in tensors)
        {
            if (data.Length != entry.ByteLength)
                throw new ArgumentException($"tensor '{entry.Name}' has {data.Length} bytes of data but its shape needs {entry.ByteLength}");
            writer.Append(data);
        }
        writer.Complete();
    }

    private static byte[] BuildHeader(IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata, out long total)
    {
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            if (metadata is null || !metadata.ContainsKey("format")) json.WriteString("format", "pt");
            if (metadata is not null)
                foreach (var (key, value) in metadata) json.WriteString(key, value);
            json.WriteEndObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long offset = 0;
            foreach (SafetensorsEntry t in tensors)
            {
                if (t.Name == "__metadata__" || !seen.Add(t.Name)) throw new ArgumentException($"tensor name '{t.Name}' is reserved or repeated");
                long size = t.ByteLength;
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType);
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + size);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += size;
            }
            json.WriteEndObject();
            total = offset;
        }
        int padded = (int)((ms.Length + 7) / 8 * 8);
        while (ms.Length < padded) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    public void Dispose()
    {
        _stream.Dispose();
        // A half-written file would later fail as "truncated"; remove it so the failure stays at its cause.
        if (!_completed) File.Delete(Path);
    }
}
