using System.Text;

namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// Writes a little-endian GGUF v3 file: header, metadata in the order added, tensor infos, then the tensor data,
/// each tensor starting at a multiple of the alignment (<c>general.alignment</c> if added as a uint, else 32) and
/// zero-padded after, as llama.cpp writes it. Tensor data is either copied when added or streamed at
/// <see cref="Write"/> time, so a multi-GB model never has to be held in memory. The file appears under its name
/// only once complete (written to a temporary name, then moved).
/// </summary>
public sealed class GgufWriter
{
    private const int MaxTensorNameBytes = 63;
    private readonly string _path;
    private readonly List<(string Key, object Value)> _metadata = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);
    private bool _written;

    private sealed record PendingTensor(string Name, long[] Dims, GgmlType Type, long ByteLength, byte[]? Data, Action<Stream>? WriteData);

    public GgufWriter(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    /// <summary>
    /// Adds a key typed by the value's CLR type: byte, sbyte, ushort, short, uint, int, float, bool, string, ulong,
    /// long, double; a one-dimensional array of any of them; or object[] whose elements are such arrays (an array
    /// of arrays, nested to any depth).
    /// </summary>
    public void AddMetadata(string key, object value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ThrowIfWritten();
        CheckWritable(value, key);
        if (key == GgufHeaderParser.AlignmentKey && (value is not uint a || a == 0 || (a & (a - 1)) != 0))
            throw new ArgumentException($"'{key}' must be a uint power of two, got {GgufValueConversion.Describe(value)}", nameof(value));
        if (!_keys.Add(key)) throw new ArgumentException($"metadata key '{key}' was already added", nameof(key));
        _metadata.Add((key, value));
    }

    /// <summary>Adds a tensor whose bytes (already in <paramref name="type"/>'s layout) are copied now.</summary>
    public void AddTensor(string name, long[] dims, GgmlType type, ReadOnlySpan<byte> data)
    {
        long bytes = ValidateTensor(name, dims, type);
        if (data.Length != bytes)
            throw new ArgumentException($"tensor '{name}' ({type} [{string.Join(", ", dims)}]) needs {bytes} bytes, got {data.Length}", nameof(data));
        _tensors.Add(new PendingTensor(name, (long[])dims.Clone(), type, bytes, data.ToArray(), null));
        _tensorNames.Add(name);
    }

    /// <summary>
    /// Adds a tensor whose bytes are produced during <see cref="Write"/>: <paramref name="writeData"/> must write
    /// exactly <see cref="GgmlTypeInfo.RowBytes"/> of the element count to the stream it is given.
    /// </summary>
    public void AddTensor(string name, long[] dims, GgmlType type, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        long bytes = ValidateTensor(name, dims, type);
        _tensors.Add(new PendingTensor(name, (long[])dims.Clone(), type, bytes, null, writeData));
        _tensorNames.Add(name);
    }

    public void Write()
    {
        ThrowIfWritten();
        _written = true;
        int alignment = _metadata.Find(kv => kv.Key == GgufHeaderParser.AlignmentKey).Value is uint a ? (int)a : GgufHeaderParser.DefaultAlignment;
        string temp = _path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
                {
                    WriteHeader(w, alignment);
                    w.Flush();
                }
                foreach (PendingTensor t in _tensors)
                {
                    long start = stream.Position;
                    if (t.Data is not null) stream.Write(t.Data);
                    else t.WriteData!(stream);
                    long written = stream.Position - start;
                    if (written != t.ByteLength)
                        throw new InvalidOperationException($"tensor '{t.Name}': the data callback wrote {written} bytes, expected {t.ByteLength}");
                    Pad(stream, alignment);
                }
            }
            File.Move(temp, _path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private void WriteHeader(BinaryWriter w, int alignment)
    {
        // BinaryWriter is little-endian on every platform, which is what GGUF stores.
        w.Write(GgufHeaderParser.Magic);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach ((string key, object value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)TypeOf(value));
            WriteValue(w, value);
        }
        long offset = 0;
        foreach (PendingTensor t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Dims.Length);
            foreach (long d in t.Dims) w.Write((ulong)d);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset = GgufHeaderParser.AlignUp(offset + t.ByteLength, alignment);
        }
        w.Flush();
        Pad(w.BaseStream, alignment);
    }

    private static void Pad(Stream stream, int alignment)
    {
        long pad = GgufHeaderParser.AlignUp(stream.Position, alignment) - stream.Position;
        for (long i = 0; i < pad; i++) stream.WriteByte(0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static GgufValueType TypeOf(object value) =>
        value is Array ? GgufValueType.Array : GgufValueConversion.ScalarType(value.GetType())!.Value;

    private static void WriteValue(BinaryWriter w, object value)
    {
        switch (value)
        {
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case short v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case int v: w.Write(v); break;
            case float v: w.Write(v); break;
            case bool v: w.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(w, v); break;
            case ulong v: w.Write(v); break;
            case long v: w.Write(v); break;
            case double v: w.Write(v); break;
            case Array a:
                w.Write((uint)GgufValueConversion.ScalarType(a.GetType().GetElementType()!)!.Value);
                w.Write((ulong)a.Length);
                foreach (object item in a) WriteValue(w, item);
                break;
            default: throw new InvalidOperationException($"unreachable: {value.GetType()}"); // CheckWritable ran first
        }
    }

    private static void CheckWritable(object value, string key)
    {
        Type t = value.GetType();
        if (t.IsArray)
        {
            if (t.GetArrayRank() != 1) throw new ArgumentException($"metadata '{key}': only one-dimensional arrays can be written");
            Type element = t.GetElementType()!;
            if (element == typeof(object))
            {
                foreach (object? item in (object[])value)
                    if (item is not Array) throw new ArgumentException($"metadata '{key}': an object[] must hold only arrays (an array of arrays), found {item?.GetType().Name ?? "null"}");
                    else CheckWritable(item, key);
                return;
            }
            if (element.IsArray || GgufValueConversion.ScalarType(element) is null)
                throw new ArgumentException($"metadata '{key}': arrays of {element.Name} cannot be written (use object[] for arrays of arrays)");
            if (value is string?[] strings && Array.IndexOf(strings, null) >= 0)
                throw new ArgumentException($"metadata '{key}': string arrays must not hold null");
            return;
        }
        if (GgufValueConversion.ScalarType(t) is null || t == typeof(object))
            throw new ArgumentException($"metadata '{key}': values of type {t.Name} cannot be written");
    }

    private long ValidateTensor(string name, long[] dims, GgmlType type)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dims);
        ThrowIfWritten();
        // ggml stores names in a 64-byte buffer with a terminator; llama.cpp refuses a file with a longer one.
        if (Encoding.UTF8.GetByteCount(name) > MaxTensorNameBytes)
            throw new ArgumentException($"tensor name '{name}' is longer than {MaxTensorNameBytes} bytes", nameof(name));
        if (!GgmlTypeInfo.IsKnown(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ggml type");
        if (dims.Length is 0 or > GgufHeaderParser.MaxDims)
            throw new ArgumentException($"tensor '{name}' has {dims.Length} dims; 1 to {GgufHeaderParser.MaxDims} are supported", nameof(dims));
        long elements = 1;
        foreach (long d in dims)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dims));
            elements = checked(elements * d);
        }
        int block = GgmlTypeInfo.BlockSize(type);
        if (dims[0] % block != 0)
            throw new ArgumentException($"tensor '{name}' of type {type} needs rows (dims[0] = {dims[0]}) that are a multiple of {block}", nameof(dims));
        if (_tensorNames.Contains(name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        return GgmlTypeInfo.RowBytes(type, elements);
    }

    private void ThrowIfWritten()
    {
        if (_written) throw new InvalidOperationException("Write() was already called");
    }
}
