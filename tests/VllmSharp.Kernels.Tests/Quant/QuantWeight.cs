using System.Runtime.InteropServices;
using VllmSharp.Kernels.Quant;
using VllmSharp.Kernels.Reference;

namespace VllmSharp.Kernels.Tests.Quant;

/// <summary>
/// A weight matrix in any dtype in unmanaged memory, deliberately 1 byte off alignment for the quantized ones (an
/// mmap'd GGUF tensor is only 32-byte aligned and blocks are 18/34/144/210 bytes), with its dequantized f32 values.
/// </summary>
internal sealed unsafe class QuantWeight : IDisposable
{
    private readonly byte* _allocation;

    public QuantWeight(Random rng, DType type, int rows, int cols)
    {
        float[] values = QuantTestData.Weights(rng, rows * cols);
        long bytes = type.RowBytes(cols) * rows;
        _allocation = (byte*)NativeMemory.Alloc((nuint)bytes + 1);
        byte* data = _allocation + 1;
        Dequantized = new float[rows * cols];
        if (type.IsQuantized())
        {
            QuantType q = QuantTypeOf(type);
            byte[] packed = QuantTestData.Quantize(values, q);
            packed.CopyTo(new Span<byte>(data, packed.Length));
            ReferenceQuant.Dequantize(packed, q, Dequantized);
        }
        else
        {
            ReferenceConvert.FromSingle(values, type, (nint)data);
            for (int i = 0; i < values.Length; i++) Dequantized[i] = ReferenceConvert.ElementToSingle((nint)data, type, i);
        }
        Matrix = new WeightMatrix((nint)data, type, rows, cols);
    }

    public WeightMatrix Matrix { get; }

    /// <summary>Row-major rows × cols values the stored weight represents.</summary>
    public float[] Dequantized { get; }

    public static QuantType QuantTypeOf(DType type) => type switch
    {
        DType.Q8_0 => QuantType.Q8_0,
        DType.Q4_0 => QuantType.Q4_0,
        DType.Q4_K => QuantType.Q4_K,
        DType.Q5_0 => QuantType.Q5_0,
        _ => QuantType.Q6_K,
    };

    public void Dispose() => NativeMemory.Free(_allocation);
}
