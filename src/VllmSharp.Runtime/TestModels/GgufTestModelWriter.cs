using System.Runtime.InteropServices;
using VllmSharp.Kernels;
using VllmSharp.Kernels.Quant;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Runtime.TestModels;

/// <summary>
/// Writes a test model as one GGUF file that llama.cpp loads: the same seeded weights
/// <see cref="TestModelWriter"/> writes as safetensors (so a f32/f16/bf16 GGUF and the safetensors folder of the
/// same preset, dtype and seed give identical logits), named and laid out as llama.cpp's converter does (Q/K rows
/// permuted for llama, norms and biases in f32 — rounded through the float dtype first, as converting a checkpoint
/// stored in that dtype gives), quantized per <see cref="GgufTensorTypePlan"/>, with the tokenizer in the metadata.
/// Weights are generated and written a few MiB at a time.
/// </summary>
public static class GgufTestModelWriter
{
    private const int SliceFloats = 2 << 20;

    public static void Write(TestModelPreset preset, GgufFileType fileType, string path, ulong seed, GgufVocabulary vocabulary, int? vocabSize = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabSize is { } v) preset = preset.WithVocabSize(v);
        HfConfig config = preset.Config with { SourcePath = null };
        config.Validate();
        vocabulary = vocabulary.PadTo(config.VocabSize);
        // Vectors hold what a checkpoint stored in this float dtype holds (quantized files: converted from f32).
        DType sourceType = fileType switch { GgufFileType.F16 => DType.F16, GgufFileType.BF16 => DType.BF16, _ => DType.F32 };
        config = config with { TorchDtype = sourceType };
        string arch = GgufArchitecture.FromHf(config.Architecture);

        var writer = new GgufWriter(path);
        GgufArchitecture.WriteConfig(writer, config);
        writer.AddMetadata("general.name", preset.Name);
        writer.AddMetadata("general.file_type", fileType.LlamaFileType());
        writer.AddMetadata("general.quantization_version", 2u);
        writer.AddMetadata("vllmsharp.seed", seed);
        vocabulary.WriteTo(writer);

        if (config.RopeScaling is { Type: RopeScalingConfig.Llama3 } scaling)
        {
            float[] factors = GgufArchitecture.Llama3RopeFactors(config, scaling);
            writer.AddTensor(GgufArchitecture.RopeFreqsTensor, [factors.Length], GgmlType.F32, MemoryMarshal.AsBytes(factors.AsSpan()));
        }
        foreach (TensorSpec spec in DecoderTensorLayout.Enumerate(config))
        {
            string name = GgufArchitecture.ToGgufName(spec.Name);
            long cols = spec.Shape[^1];
            GgmlType type = GgufTensorTypePlan.TypeFor(fileType, name, spec.Shape.Length, cols, config.NumHiddenLayers, config.TieWordEmbeddings);
            int heads = GgufArchitecture.PermutedHeads(arch, spec.Name, config);
            long[] dims = spec.Shape.Length == 2 ? [spec.Shape[1], spec.Shape[0]] : [spec.Shape[0]];
            TensorSpec s = spec;
            writer.AddTensor(name, dims, type, stream => WriteTensor(stream, s, type, heads, seed, sourceType));
        }
        writer.Write();
    }

    private static void WriteTensor(Stream stream, TensorSpec spec, GgmlType type, int heads, ulong seed, DType sourceType)
    {
        bool matrix = spec.Shape.Length == 2;
        int rows = matrix ? (int)spec.Shape[0] : 1;
        int cols = (int)spec.Shape[^1];
        if (!matrix && heads > 0)
        {
            // A permuted bias: each element is a "row" of one.
            (rows, cols) = (cols, 1);
        }
        int headDim = heads > 0 ? rows / heads : 0;
        int sliceRows = Math.Max(1, Math.Min(rows, SliceFloats / cols));
        float[] values = new float[sliceRows * cols];
        int rowBytes = (int)GgmlTypeInfo.RowBytes(type, cols);
        byte[] bytes = new byte[sliceRows * rowBytes];
        GCHandle valuesPin = GCHandle.Alloc(values, GCHandleType.Pinned), bytesPin = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        try
        {
            nint valuesAt = valuesPin.AddrOfPinnedObject();
            for (int first = 0; first < rows; first += sliceRows)
            {
                int n = Math.Min(sliceRows, rows - first);
                if (heads == 0) SeededWeightGenerator.Generate(seed, spec, (long)first * cols, (long)n * cols, DType.F32, valuesAt);
                else
                    for (int g = 0; g < n; g++)
                    {
                        long hfRow = GgufArchitecture.HfRowOfGgufRow(first + g, headDim);
                        SeededWeightGenerator.Generate(seed, spec, hfRow * cols, cols, DType.F32, valuesAt + g * cols * sizeof(float));
                    }
                Span<float> part = values.AsSpan(0, n * cols);
                if (!matrix && sourceType != DType.F32) RoundThrough(part, sourceType, bytesPin.AddrOfPinnedObject());
                if (GgufWeightSource.FloatDType(type) is { } floatType) DTypeConvert.FromSingle(part, floatType, bytesPin.AddrOfPinnedObject());
                else QuantizeRows(values, bytes, QuantTypeOf(type), cols, n);
                stream.Write(bytes, 0, n * rowBytes);
            }
        }
        finally
        {
            valuesPin.Free();
            bytesPin.Free();
        }
    }

    private static void RoundThrough(Span<float> values, DType type, nint scratch)
    {
        DTypeConvert.FromSingle(values, type, scratch);
        DTypeConvert.ToSingle(scratch, type, values);
    }

    public static QuantType QuantTypeOf(GgmlType type) => type switch
    {
        GgmlType.Q8_0 => QuantType.Q8_0,
        GgmlType.Q4_0 => QuantType.Q4_0,
        GgmlType.Q5_0 => QuantType.Q5_0,
        GgmlType.Q4_K => QuantType.Q4_K,
        GgmlType.Q6_K => QuantType.Q6_K,
        _ => throw new NotSupportedException($"ggml type {type} cannot be written"),
    };

    /// <summary>Quantizes rows in parallel: the K-quant search is the slow part of writing a model.</summary>
    private static void QuantizeRows(float[] values, byte[] dst, QuantType type, int cols, int rows)
    {
        var job = new QuantizeJob(values, dst, type, cols, rows);
        WorkerPool.Shared.For((rows + QuantizeJob.RowsPerItem - 1) / QuantizeJob.RowsPerItem, ref job);
    }

    private readonly struct QuantizeJob(float[] src, byte[] dst, QuantType type, int cols, int rows) : IParallelJob
    {
        public const int RowsPerItem = 8;

        public void Execute(int index)
        {
            int rowBytes = (int)QuantFormat.RowBytes(type, cols);
            int end = Math.Min(rows, (index + 1) * RowsPerItem);
            for (int r = index * RowsPerItem; r < end; r++)
                Quantizer.Quantize(src.AsSpan(r * cols, cols), type, dst.AsSpan(r * rowBytes, rowBytes));
        }
    }
}
