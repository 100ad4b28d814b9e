namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// One tensor of a GGUF file. <see cref="Dims"/> is in ggml order: <c>Dims[0]</c> is the row length (the
/// contiguous dimension), so a PyTorch [out, in] matrix appears as [in, out]. <see cref="Offset"/> is relative to
/// the data section as stored; <see cref="Data"/> points into the read-only mapping and stays valid until the
/// owning <see cref="GgufFile"/> is disposed.
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Dims, GgmlType Type, long Offset, nint Data, long ByteLength)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Dims) n *= d;
            return n;
        }
    }

    /// <summary>The dims as "[a, b]" for messages.</summary>
    public string DimsText => "[" + string.Join(", ", Dims) + "]";
}
