using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// Where a model's weights come from. Matrices are returned in the run <see cref="DType"/> (a GGUF source may
/// return other types, quantized ones included, as its file stores them) and stay valid until the source is
/// disposed; vectors (norm scales, biases) are small and returned as managed f32 copies.
/// Missing tensors, wrong shapes and unsupported dtypes throw <see cref="ModelLoadException"/> naming the file and
/// the tensor.
/// </summary>
public interface IWeightSource : IDisposable
{
    /// <summary>The dtype of the model's matrices (for a GGUF file: its main stored type; <see cref="GetMatrix"/> may return others).</summary>
    DType DType { get; }

    bool Contains(string name);

    /// <summary>The 2-D tensor <paramref name="name"/>, which must have shape [rows, cols].</summary>
    WeightMatrix GetMatrix(string name, int rows, int cols);

    /// <summary>The 1-D tensor <paramref name="name"/>, which must have shape [length], converted to f32.</summary>
    float[] GetVector(string name, int length);
}
