using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// Weights from a safetensors model folder. A matrix stored in the run dtype is returned in place from the
/// read-only mapping (no copy, pages load on first touch); any other stored dtype is converted once into owned
/// native memory that lives until <see cref="Dispose"/>.
/// </summary>
public sealed class SafetensorsWeightSource : IWeightSource
{
    private readonly SafetensorsCheckpoint _checkpoint;
    private readonly Dictionary<string, (WeightMatrix Matrix, NativeBuffer Buffer)> _converted = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _disposed;

    private SafetensorsWeightSource(SafetensorsCheckpoint checkpoint, DType runDtype)
    {
        _checkpoint = checkpoint;
        DType = runDtype;
    }

    public static SafetensorsWeightSource Open(string modelDir, DType runDtype) =>
        new(SafetensorsCheckpoint.Open(modelDir), runDtype);

    public DType DType { get; }

    /// <summary>The underlying checkpoint (file list, raw tensor access).</summary>
    public SafetensorsCheckpoint Checkpoint => _checkpoint;

    /// <summary>Bytes of native memory held by converted matrices.</summary>
    public long ConvertedBytes
    {
        get
        {
            lock (_gate)
            {
                long total = 0;
                foreach (var entry in _converted.Values) total += entry.Buffer.Length;
                return total;
            }
        }
    }

    public bool Contains(string name) => _checkpoint.Contains(name);

    public WeightMatrix GetMatrix(string name, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_converted.TryGetValue(name, out var cached)) return cached.Matrix;
            TensorInfo info = _checkpoint.GetTensor(name);
            ExpectShape(info, [rows, cols]);
            if (info.Type == DType) return new WeightMatrix(info.Data, DType, rows, cols);

            var buffer = new NativeBuffer((long)rows * cols * DType.SizeInBytes());
            DTypeConversion.Convert(info.Data, info.Type, buffer.Address, DType, (long)rows * cols);
            var matrix = new WeightMatrix(buffer.Address, DType, rows, cols);
            _converted[name] = (matrix, buffer);
            return matrix;
        }
    }

    public float[] GetVector(string name, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            TensorInfo info = _checkpoint.GetTensor(name);
            ExpectShape(info, [length]);
            var result = new float[length];
            DTypeConvert.ToSingle(info.Data, info.Type, result);
            return result;
        }
    }

    internal static void ExpectShape(TensorInfo info, long[] expected)
    {
        if (info.Shape.AsSpan().SequenceEqual(expected)) return;
        throw new ModelLoadException(info.File,
            $"tensor '{info.Name}' has shape {info.ShapeText} but the model expects [{string.Join(", ", expected)}]");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _converted.Values) entry.Buffer.Dispose();
            _converted.Clear();
            _checkpoint.Dispose();
        }
    }
}
