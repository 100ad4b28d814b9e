using VllmSharp.Kernels;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// vLLM's <c>--load-format dummy</c>: random weights from the config alone, generated on first request into
/// native memory in the run dtype. The values are those <see cref="TestModelWriter"/> writes for the same seed,
/// so a model written in dtype D and loaded with run dtype D matches this source byte for byte.
/// </summary>
public sealed class DummyWeightSource : IWeightSource
{
    private readonly Dictionary<string, TensorSpec> _specs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (WeightMatrix Matrix, NativeBuffer Buffer)> _generated = new(StringComparer.Ordinal);
    private readonly ulong _seed;
    private readonly string _label;
    private readonly Lock _gate = new();
    private bool _disposed;

    public DummyWeightSource(HfConfig config, DType runDtype, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (TensorSpec spec in DecoderTensorLayout.Enumerate(config)) _specs[spec.Name] = spec;
        DType = runDtype;
        _seed = seed;
        _label = $"dummy weights for {config.SourcePath ?? config.Architecture} (seed {seed})";
    }

    public DType DType { get; }

    public bool Contains(string name) => _specs.ContainsKey(name);

    public WeightMatrix GetMatrix(string name, int rows, int cols)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_generated.TryGetValue(name, out var cached))
            {
                ExpectShape(name, cached.Matrix.Rows, cached.Matrix.Cols, [rows, cols]);
                return cached.Matrix;
            }
            TensorSpec spec = Find(name);
            ExpectShape(name, spec.Shape, [rows, cols]);
            long elements = (long)rows * cols;
            var buffer = new NativeBuffer(elements * DType.SizeInBytes());
            SeededWeightGenerator.Generate(_seed, spec, 0, elements, DType, buffer.Address);
            var matrix = new WeightMatrix(buffer.Address, DType, rows, cols);
            _generated[name] = (matrix, buffer);
            return matrix;
        }
    }

    public float[] GetVector(string name, int length)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            TensorSpec spec = Find(name);
            ExpectShape(name, spec.Shape, [length]);
            // Round through the run dtype: a checkpoint written in that dtype stores exactly these values.
            using var buffer = new NativeBuffer((long)length * DType.SizeInBytes());
            SeededWeightGenerator.Generate(_seed, spec, 0, length, DType, buffer.Address);
            var result = new float[length];
            DTypeConvert.ToSingle(buffer.Address, DType, result);
            return result;
        }
    }

    private TensorSpec Find(string name) =>
        _specs.TryGetValue(name, out TensorSpec? spec) ? spec
            : throw new ModelLoadException(_label, $"tensor '{name}' is not part of this architecture's layout");

    private void ExpectShape(string name, int rows, int cols, long[] expected) => ExpectShape(name, [rows, cols], expected);

    private void ExpectShape(string name, long[] actual, long[] expected)
    {
        if (actual.AsSpan().SequenceEqual(expected)) return;
        throw new ModelLoadException(_label,
            $"tensor '{name}' has shape [{string.Join(", ", actual)}] but the model expects [{string.Join(", ", expected)}]");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _generated.Values) entry.Buffer.Dispose();
            _generated.Clear();
        }
    }
}
