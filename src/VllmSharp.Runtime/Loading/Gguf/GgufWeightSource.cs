using System.Runtime.InteropServices;
using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading.Gguf;

/// <summary>
/// Weights from a GGUF model file, asked for by their HF names (mapped by <see cref="GgufArchitecture"/>).
/// Matrices are used in place from the read-only mapping in their stored type — f32, f16, bf16 or a ggml block
/// format — so <see cref="GetMatrix"/> may return a quantized matrix. Two cases copy into owned native memory:
/// llama's Q/K rows, whose llama.cpp permutation is undone here, and float matrices when an explicit run dtype
/// other than the stored one was asked for (quantized matrices are never converted). Vectors (norms, biases)
/// come back as f32.
/// </summary>
public sealed class GgufWeightSource : IWeightSource
{
    private readonly GgufFile _file;
    private readonly string _arch;
    private readonly HfConfig _config;
    private readonly DType? _runType;
    private readonly Dictionary<string, (WeightMatrix Matrix, NativeBuffer? Buffer)> _matrices = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <param name="file">The open file; this source owns and disposes it.</param>
    /// <param name="config">The file's config (<see cref="GgufArchitecture.ReadConfig"/>).</param>
    /// <param name="runType">Float dtype to convert float matrices to, or null to use every matrix as stored.</param>
    public GgufWeightSource(GgufFile file, HfConfig config, DType? runType)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(config);
        if (runType is { } r && FloatGgmlType(r) is null) throw new ArgumentException($"run dtype {r} is not a float type", nameof(runType));
        _file = file;
        _config = config;
        _arch = GgufArchitecture.FromHf(config.Architecture);
        _runType = runType;
        DType = runType ?? (file.ContainsTensor("token_embd.weight") ? ToDType(file.GetTensor("token_embd.weight").Type) : null) ?? DType.F32;
    }

    /// <summary>Opens <paramref name="path"/> and reads its config; <paramref name="runType"/> as in the constructor.</summary>
    public static GgufWeightSource Open(string path, DType? runType)
    {
        GgufFile file = GgufFile.Open(path);
        try
        {
            var source = new GgufWeightSource(file, GgufArchitecture.ReadConfig(file), runType);
            source.ValidateLayout();
            return source;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The run dtype if one was given, else the stored type of the token embedding (the file's main type).</summary>
    public DType DType { get; }

    public HfConfig Config => _config;

    public GgufFile File => _file;

    /// <summary>Our dtype for a ggml type, or null when the kernels cannot use it.</summary>
    public static DType? ToDType(GgmlType type) => type switch
    {
        GgmlType.F32 => DType.F32,
        GgmlType.F16 => DType.F16,
        GgmlType.BF16 => DType.BF16,
        GgmlType.Q8_0 => DType.Q8_0,
        GgmlType.Q4_0 => DType.Q4_0,
        GgmlType.Q5_0 => DType.Q5_0,
        GgmlType.Q4_K => DType.Q4_K,
        GgmlType.Q6_K => DType.Q6_K,
        _ => null,
    };

    /// <summary>The float dtype of a ggml type, or null for block formats and integer types.</summary>
    public static DType? FloatDType(GgmlType type) => type switch
    {
        GgmlType.F32 => DType.F32,
        GgmlType.F16 => DType.F16,
        GgmlType.BF16 => DType.BF16,
        _ => null,
    };

    /// <summary>The ggml type of a float dtype, or null for the others.</summary>
    public static GgmlType? FloatGgmlType(DType type) => type switch
    {
        DType.F32 => GgmlType.F32,
        DType.F16 => GgmlType.F16,
        DType.BF16 => GgmlType.BF16,
        _ => null,
    };

    /// <summary>
    /// Checks that every tensor the config's architecture needs is present with the dims the config implies and a
    /// type we run, before a model allocates anything sized by the config: a corrupt count (say a huge
    /// block_count) then fails here with the key or tensor named, never as an out-of-memory error later.
    /// </summary>
    public void ValidateLayout()
    {
        string arch = _arch;
        // Each layer has at least nine tensors, so a larger count cannot be right (and must not size a list).
        if ((long)_config.NumHiddenLayers * 9 > _file.Tensors.Count)
            throw new ModelLoadException(_file.Path, $"'{arch}.{GgufArchitecture.BlockCount}' is {_config.NumHiddenLayers} but the file holds only {_file.Tensors.Count} tensors");
        foreach (Models.TensorSpec spec in Models.DecoderTensorLayout.Enumerate(_config))
        {
            GgufTensorInfo info = Find(spec.Name);
            long[] expected = spec.Shape.Length == 2 ? [spec.Shape[1], spec.Shape[0]] : [spec.Shape[0]];
            if (!info.Dims.AsSpan().SequenceEqual(expected))
                throw new ModelLoadException(_file.Path,
                    $"tensor '{info.Name}' has dims {info.DimsText} but the '{arch}.*' metadata implies [{string.Join(", ", expected)}]");
            if (spec.Shape.Length == 2 ? ToDType(info.Type) is null : FloatDType(info.Type) is null) throw Unsupported(info);
            int heads = GgufArchitecture.PermutedHeads(_arch, spec.Name, _config);
            if (heads > 0 && (spec.Shape[0] % heads != 0 || spec.Shape[0] / heads % 2 != 0))
                throw new ModelLoadException(_file.Path, $"tensor '{info.Name}' has {spec.Shape[0]} rows, which do not split into {heads} heads of even size");
        }
    }

    public bool Contains(string name)
    {
        string? gguf = TryGgufName(name);
        return gguf is not null && _file.ContainsTensor(gguf);
    }

    public WeightMatrix GetMatrix(string name, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_matrices.TryGetValue(name, out var cached)) return cached.Matrix;
            GgufTensorInfo info = Find(name);
            if (info.Dims.Length != 2 || info.Dims[0] != cols || info.Dims[1] != rows)
                throw new ModelLoadException(_file.Path,
                    $"tensor '{info.Name}' has dims {info.DimsText} (ggml order, row length first) but the model expects [{cols}, {rows}]");
            DType stored = ToDType(info.Type) ?? throw Unsupported(info);
            DType target = _runType is { } r && FloatDType(info.Type) is not null ? r : stored;
            int heads = GgufArchitecture.PermutedHeads(_arch, name, _config);
            (WeightMatrix Matrix, NativeBuffer? Buffer) entry;
            if (heads == 0 && target == stored) entry = (new WeightMatrix(info.Data, stored, rows, cols), null);
            else entry = Copy(info, stored, target, rows, cols, heads);
            _matrices[name] = entry;
            return entry.Matrix;
        }
    }

    public float[] GetVector(string name, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            GgufTensorInfo info = Find(name);
            if (info.Dims.Length != 1 || info.Dims[0] != length)
                throw new ModelLoadException(_file.Path, $"tensor '{info.Name}' has dims {info.DimsText} but the model expects [{length}]");
            DType type = FloatDType(info.Type)
                ?? throw new ModelLoadException(_file.Path, $"tensor '{info.Name}' is {info.Type}; vectors (norms, biases) must be F32, F16 or BF16");
            var values = new float[length];
            DTypeConvert.ToSingle(info.Data, type, values);
            int heads = GgufArchitecture.PermutedHeads(_arch, name, _config);
            if (heads == 0) return values;
            var unpermuted = new float[length];
            GgufArchitecture.PermuteRows(
                MemoryMarshal.AsBytes(values.AsSpan()),
                MemoryMarshal.AsBytes(unpermuted.AsSpan()), length, sizeof(float), length / heads, toHf: true);
            return unpermuted;
        }
    }

    private (WeightMatrix, NativeBuffer) Copy(GgufTensorInfo info, DType stored, DType target, int rows, int cols, int heads)
    {
        long storedRowBytes = GgmlTypeInfo.RowBytes(info.Type, cols);
        long targetRowBytes = target == stored ? storedRowBytes : (long)cols * target.SizeInBytes();
        if (heads > 0 && rows % heads != 0)
            throw new ModelLoadException(_file.Path, $"tensor '{info.Name}' has {rows} rows, which do not split into {heads} heads");
        int headDim = heads > 0 ? rows / heads : 0;
        var buffer = new NativeBuffer(rows * targetRowBytes);
        // Runtime has no unsafe code: same-type rows go through one managed row buffer (load time only).
        byte[] row = target == stored ? new byte[storedRowBytes] : [];
        for (int g = 0; g < rows; g++)
        {
            int h = heads > 0 ? GgufArchitecture.HfRowOfGgufRow(g, headDim) : g;
            nint src = info.Data + (nint)(g * storedRowBytes), dst = buffer.Address + (nint)(h * targetRowBytes);
            if (target != stored) DTypeConversion.Convert(src, stored, dst, target, cols);
            else
            {
                Marshal.Copy(src, row, 0, row.Length);
                Marshal.Copy(row, 0, dst, row.Length);
            }
        }
        return (new WeightMatrix(buffer.Address, target, rows, cols), buffer);
    }

    private GgufTensorInfo Find(string hfName)
    {
        string gguf = TryGgufName(hfName) ?? throw new ModelLoadException(_file.Path, $"tensor '{hfName}' has no GGUF name");
        return _file.ContainsTensor(gguf) ? _file.GetTensor(gguf)
            : throw new ModelLoadException(_file.Path, $"tensor '{gguf}' (HF '{hfName}') not found");
    }

    private static string? TryGgufName(string hfName)
    {
        try { return GgufArchitecture.ToGgufName(hfName); }
        catch (ArgumentException) { return null; }
    }

    private ModelLoadException Unsupported(GgufTensorInfo info) => new(_file.Path,
        $"tensor '{info.Name}' has ggml type {info.Type}, which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K)");

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _matrices.Values) entry.Buffer?.Dispose();
            _matrices.Clear();
            _file.Dispose();
        }
    }
}
