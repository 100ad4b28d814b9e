namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// Parses a GGUF header: magic "GGUF", u32 version (2 or 3), u64 tensor count, u64 key/value count, the key/value
/// pairs (string key, u32 <see cref="GgufValueType"/>, value), then per tensor: string name, u32 n_dims, u64 dims,
/// u32 <see cref="GgmlType"/>, u64 offset into the data section. The data section starts at the next multiple of
/// <c>general.alignment</c> (default 32). All integers are little-endian.
/// </summary>
internal static class GgufHeaderParser
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian u32
    public const int DefaultAlignment = 32;
    public const string AlignmentKey = "general.alignment";
    // ggml's GGML_MAX_DIMS: a tensor with more dims cannot be created by llama.cpp either.
    public const int MaxDims = 4;
    // Spec-legal but unbounded nesting would let a small crafted file exhaust the stack.
    private const int MaxArrayDepth = 16;
    // Smallest encodings, used to reject counts that cannot fit in the bytes left before allocating for them.
    private const int MinKeyValueBytes = 8 + 4 + 1;
    private const int MinTensorInfoBytes = 8 + 4 + 4 + 8;

    internal readonly record struct RawTensor(string Name, long[] Dims, GgmlType Type, long Offset, long ByteLength);

    internal sealed record Header(uint Version, Dictionary<string, object> Metadata, List<RawTensor> Tensors, int Alignment, long DataOffset);

    public static Header Parse(GgufStreamReader r)
    {
        if (r.FileLength < 4) throw r.Error($"not a GGUF file: {r.FileLength} bytes is too short for the magic");
        uint magic = r.ReadUInt32("magic");
        if (magic != Magic)
            throw r.Error($"not a GGUF file: magic is 0x{magic:X8} (bytes '{Printable(magic)}'), expected \"GGUF\"");
        uint version = r.ReadUInt32("version");
        if (version != 2 && version != 3)
        {
            string hint = version > 0xFFFF && System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(version) is 2 or 3
                ? " (this looks like a big-endian GGUF, which is not supported)" : version == 1 ? " (GGUF v1 is obsolete)" : "";
            throw r.Error($"unsupported GGUF version {version}{hint}; versions 2 and 3 are supported");
        }
        ulong tensorCount = r.ReadUInt64("tensor count");
        ulong kvCount = r.ReadUInt64("metadata count");
        if (kvCount > (ulong)r.Remaining / MinKeyValueBytes)
            throw r.Error($"metadata count {kvCount} cannot fit in the {r.Remaining} bytes left; the file is truncated or corrupt");
        if (tensorCount > (ulong)r.Remaining / MinTensorInfoBytes)
            throw r.Error($"tensor count {tensorCount} cannot fit in the {r.Remaining} bytes left; the file is truncated or corrupt");

        var metadata = new Dictionary<string, object>((int)kvCount, StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            long at = r.Position;
            string key = r.ReadString($"metadata key #{i}");
            var type = (GgufValueType)r.ReadUInt32($"type of metadata '{key}'");
            object value = ReadValue(r, type, key, 0);
            if (!metadata.TryAdd(key, value)) throw r.Error($"metadata key '{key}' appears twice (second at byte {at})");
        }

        int alignment = ReadAlignment(r, metadata);
        var tensors = new List<RawTensor>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            RawTensor t = ReadTensorInfo(r, i, alignment);
            if (!names.Add(t.Name)) throw r.Error($"tensor '{t.Name}' appears twice");
            tensors.Add(t);
        }
        long dataOffset = AlignUp(r.Position, alignment);
        return new Header(version, metadata, tensors, alignment, dataOffset);
    }

    public static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private static int ReadAlignment(GgufStreamReader r, Dictionary<string, object> metadata)
    {
        if (!metadata.TryGetValue(AlignmentKey, out object? value)) return DefaultAlignment;
        // llama.cpp requires a u32 power of two here; anything else means the offsets cannot be trusted.
        if (value is not uint a) throw r.Error($"metadata '{AlignmentKey}' is {GgufValueConversion.Describe(value)}, expected UInt32");
        if (a == 0 || (a & (a - 1)) != 0 || a > 1 << 30)
            throw r.Error($"metadata '{AlignmentKey}' is {a}, expected a power of two");
        return (int)a;
    }

    private static RawTensor ReadTensorInfo(GgufStreamReader r, ulong index, int alignment)
    {
        string name = r.ReadString($"name of tensor #{index}");
        uint nDims = r.ReadUInt32($"dim count of tensor '{name}'");
        if (nDims > MaxDims) throw r.Error($"tensor '{name}' has {nDims} dims; at most {MaxDims} are supported");
        var dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++)
        {
            ulong n = r.ReadUInt64($"dim {d} of tensor '{name}'");
            if (n > long.MaxValue) throw r.Error($"tensor '{name}' has dim {d} = {n}, which is out of range");
            dims[d] = (long)n;
            if (n != 0 && elements > long.MaxValue / (long)n)
                throw r.Error($"tensor '{name}' has dims [{string.Join(", ", dims[..(d + 1)])}...] whose element count overflows");
            elements *= (long)n;
        }
        uint rawType = r.ReadUInt32($"type of tensor '{name}'");
        var type = (GgmlType)rawType;
        if (!GgmlTypeInfo.IsKnown(type))
            throw r.Error($"tensor '{name}' has ggml type {rawType}, which is unknown or not supported (supported: {SupportedTypesText()})");
        int block = GgmlTypeInfo.BlockSize(type);
        long rowLength = nDims == 0 ? 1 : dims[0];
        if (rowLength % block != 0)
            throw r.Error($"tensor '{name}' of type {type} has rows of {rowLength} elements, not a multiple of the block size {block}");
        long byteLength = elements / block > long.MaxValue / GgmlTypeInfo.TypeSize(type)
            ? throw r.Error($"tensor '{name}' is too large ({elements} elements)")
            : elements / block * GgmlTypeInfo.TypeSize(type);
        ulong offset = r.ReadUInt64($"offset of tensor '{name}'");
        if (offset > long.MaxValue) throw r.Error($"tensor '{name}' has offset {offset}, which is out of range");
        if (offset % (ulong)alignment != 0)
            throw r.Error($"tensor '{name}' has offset {offset}, not a multiple of the alignment {alignment}");
        return new RawTensor(name, dims, type, (long)offset, byteLength);
    }

    private static object ReadValue(GgufStreamReader r, GgufValueType type, string key, int depth)
    {
        string what = $"value of metadata '{key}'";
        return type switch
        {
            GgufValueType.UInt8 => r.ReadUInt8(what),
            GgufValueType.Int8 => (sbyte)r.ReadUInt8(what),
            GgufValueType.UInt16 => r.ReadUInt16(what),
            GgufValueType.Int16 => (short)r.ReadUInt16(what),
            GgufValueType.UInt32 => r.ReadUInt32(what),
            GgufValueType.Int32 => (int)r.ReadUInt32(what),
            GgufValueType.Float32 => r.ReadFloat32(what),
            GgufValueType.Bool => ReadBool(r, what),
            GgufValueType.String => r.ReadString(what),
            GgufValueType.UInt64 => r.ReadUInt64(what),
            GgufValueType.Int64 => (long)r.ReadUInt64(what),
            GgufValueType.Float64 => r.ReadFloat64(what),
            GgufValueType.Array => ReadArray(r, key, depth),
            _ => throw r.Error($"metadata '{key}' has unknown value type {(uint)type} at byte {r.Position - 4}"),
        };
    }

    private static bool ReadBool(GgufStreamReader r, string what)
    {
        byte b = r.ReadUInt8(what);
        return b <= 1 ? b == 1 : throw r.Error($"{what} at byte {r.Position - 1} is {b}, not a bool (0 or 1)");
    }

    private static object ReadArray(GgufStreamReader r, string key, int depth)
    {
        if (depth >= MaxArrayDepth) throw r.Error($"metadata '{key}' nests arrays more than {MaxArrayDepth} deep");
        var elementType = (GgufValueType)r.ReadUInt32($"array element type of metadata '{key}'");
        ulong count = r.ReadUInt64($"array length of metadata '{key}'");
        int minElement = elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
            GgufValueType.Array => 12,
            _ => throw r.Error($"metadata '{key}' is an array of unknown value type {(uint)elementType}"),
        };
        if (count > (ulong)r.Remaining / (ulong)minElement || count > int.MaxValue)
            throw r.Error($"metadata '{key}' has an array of {count} {elementType} elements, beyond the end of the file ({r.FileLength} bytes)");
        int n = (int)count;
        string what = $"element of metadata '{key}'";
        switch (elementType)
        {
            case GgufValueType.UInt8: { var a = new byte[n]; r.ReadBytes(a, what); return a; }
            case GgufValueType.Int8: { var a = new sbyte[n]; r.ReadBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()), what); return a; }
            case GgufValueType.UInt16: return Fill(new ushort[n], r, what, static (r, w) => r.ReadUInt16(w));
            case GgufValueType.Int16: return Fill(new short[n], r, what, static (r, w) => (short)r.ReadUInt16(w));
            case GgufValueType.UInt32: return Fill(new uint[n], r, what, static (r, w) => r.ReadUInt32(w));
            case GgufValueType.Int32: return Fill(new int[n], r, what, static (r, w) => (int)r.ReadUInt32(w));
            case GgufValueType.Float32: return Fill(new float[n], r, what, static (r, w) => r.ReadFloat32(w));
            case GgufValueType.Bool: return Fill(new bool[n], r, what, static (r, w) => ReadBool(r, w));
            case GgufValueType.String: return Fill(new string[n], r, what, static (r, w) => r.ReadString(w));
            case GgufValueType.UInt64: return Fill(new ulong[n], r, what, static (r, w) => r.ReadUInt64(w));
            case GgufValueType.Int64: return Fill(new long[n], r, what, static (r, w) => (long)r.ReadUInt64(w));
            case GgufValueType.Float64: return Fill(new double[n], r, what, static (r, w) => r.ReadFloat64(w));
            default:
                var nested = new object[n];
                // Elements of an array carry no type tag of their own: each nested array starts with its element type.
                for (int i = 0; i < n; i++) nested[i] = ReadArray(r, key, depth + 1);
                return nested;
        }
    }

    private static T[] Fill<T>(T[] array, GgufStreamReader r, string what, Func<GgufStreamReader, string, T> read)
    {
        for (int i = 0; i < array.Length; i++) array[i] = read(r, what);
        return array;
    }

    private static string Printable(uint magic)
    {
        Span<char> chars = stackalloc char[4];
        for (int i = 0; i < 4; i++)
        {
            char c = (char)((magic >> (8 * i)) & 0xFF);
            chars[i] = c is >= ' ' and <= '~' ? c : '.';
        }
        return new string(chars);
    }

    private static string SupportedTypesText() => string.Join(", ", Enum.GetNames<GgmlType>());
}
