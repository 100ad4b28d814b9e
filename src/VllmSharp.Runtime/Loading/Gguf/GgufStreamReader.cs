using System.Buffers.Binary;
using System.Text;

namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// Little-endian primitive reads over a GGUF header with every length checked against the bytes left in the file
/// before anything is allocated, so that a corrupt count or length becomes one <see cref="ModelLoadException"/>
/// (naming the byte offset) instead of an out-of-memory or an end-of-stream error.
/// </summary>
internal sealed class GgufStreamReader
{
    private readonly Stream _stream;
    private readonly string _path;
    private readonly byte[] _scratch = new byte[8];

    public GgufStreamReader(Stream stream, string path, long fileLength)
    {
        _stream = stream;
        _path = path;
        FileLength = fileLength;
    }

    public long FileLength { get; }
    public long Position { get; private set; }
    public long Remaining => FileLength - Position;

    public ModelLoadException Error(string problem) => new(_path, problem);

    /// <summary>Throws unless <paramref name="bytes"/> more bytes exist; <paramref name="what"/> names the field.</summary>
    public void Require(ulong bytes, string what)
    {
        if (bytes > (ulong)Remaining)
            throw Error($"truncated header: {what} at byte {Position} needs {bytes} bytes but the file ({FileLength} bytes) has {Remaining} left");
    }

    private ReadOnlySpan<byte> Fill(int count, string what)
    {
        Require((ulong)count, what);
        Span<byte> span = _scratch.AsSpan(0, count);
        _stream.ReadExactly(span);
        Position += count;
        return span;
    }

    public byte ReadUInt8(string what) => Fill(1, what)[0];
    public ushort ReadUInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Fill(2, what));
    public uint ReadUInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Fill(4, what));
    public ulong ReadUInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Fill(8, what));
    public float ReadFloat32(string what) => BinaryPrimitives.ReadSingleLittleEndian(Fill(4, what));
    public double ReadFloat64(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Fill(8, what));

    public void ReadBytes(Span<byte> destination, string what)
    {
        Require((ulong)destination.Length, what);
        _stream.ReadExactly(destination);
        Position += destination.Length;
    }

    /// <summary>A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).</summary>
    public string ReadString(string what)
    {
        long start = Position;
        ulong length = ReadUInt64(what + " length");
        if (length > (ulong)Remaining)
            throw Error($"{what} at byte {start} has length {length}, beyond the end of the file ({FileLength} bytes)");
        if (length == 0) return string.Empty;
        // Short strings (token pieces) dominate: decode from a stack buffer to avoid one array per token.
        if (length <= 256)
        {
            Span<byte> small = stackalloc byte[(int)length];
            ReadBytes(small, what);
            return Encoding.UTF8.GetString(small);
        }
        if (length > int.MaxValue) throw Error($"{what} at byte {start} has length {length}, over the 2 GiB limit");
        var bytes = new byte[length];
        ReadBytes(bytes, what);
        return Encoding.UTF8.GetString(bytes);
    }
}
