using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// One tensor of a checkpoint: <see cref="Data"/> points into the read-only memory mapping of <see cref="File"/>
/// and stays valid until the owning <see cref="SafetensorsFile"/> is disposed.
/// </summary>
public sealed record TensorInfo(string Name, DType Type, long[] Shape, nint Data, string File)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    public long ByteLength => ElementCount * Type.SizeInBytes();

    /// <summary>The shape as "[a, b]" for messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
