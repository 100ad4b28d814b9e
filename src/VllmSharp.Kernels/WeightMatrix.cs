namespace VllmSharp.Kernels;

/// <summary>
/// A read-only row-major weight matrix of <see cref="Rows"/> × <see cref="Cols"/> elements living in
/// unmanaged memory (usually a memory-mapped checkpoint), used in place in its stored dtype.
/// Row r holds the weights of output feature r (PyTorch <c>nn.Linear</c> layout: [out, in]). For block-quantized
/// types each row is <see cref="DTypeExtensions.RowBytes"/> bytes of whole blocks (GGUF's layout), rows back to back.
/// </summary>
public readonly record struct WeightMatrix(nint Data, DType Type, int Rows, int Cols)
{
    public long SizeInBytes => Rows * Type.RowBytes(Cols);

    /// <summary>Address of the first element (block) of row <paramref name="row"/>.</summary>
    public nint RowAddress(int row) => Data + (nint)(row * Type.RowBytes(Cols));
}
