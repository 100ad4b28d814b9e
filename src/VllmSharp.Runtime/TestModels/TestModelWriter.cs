using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Models;

namespace VllmSharp.Runtime.TestModels;

/// <summary>
/// Writes a Hugging Face model folder with seeded random weights (see <see cref="SeededWeightGenerator"/>):
/// config.json, generation_config.json, and model.safetensors — or model-0000i-of-0000n.safetensors shards plus
/// model.safetensors.index.json when a shard size is given. Weights are generated and written in slices of a few
/// MiB, so memory use does not grow with the model.
/// </summary>
public static class TestModelWriter
{
    private const int SliceBytes = 8 << 20;

    /// <summary>Writes the model and returns the paths of the .safetensors files written.</summary>
    public static IReadOnlyList<string> Write(TestModelPreset preset, DType dtype, string outputDir, ulong seed,
        int? vocabSize = null, long? maxShardBytes = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(outputDir);
        if (maxShardBytes is <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), "must be positive");
        if (vocabSize is { } v) preset = preset.WithVocabSize(v);
        HfConfig config = preset.Config with { TorchDtype = dtype, SourcePath = null };
        config.Validate();

        Directory.CreateDirectory(outputDir);
        RemoveOldWeights(outputDir);
        File.WriteAllText(Path.Combine(outputDir, "config.json"), config.ToJson());
        File.WriteAllText(Path.Combine(outputDir, "generation_config.json"), GenerationConfigJson(config));

        IReadOnlyList<TensorSpec> specs = DecoderTensorLayout.Enumerate(config);
        List<List<TensorSpec>> shards = PlanShards(specs, dtype, maxShardBytes);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["vllmsharp.seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var paths = new List<string>(shards.Count);

        byte[] slice = new byte[SliceBytes];
        GCHandle pin = GCHandle.Alloc(slice, GCHandleType.Pinned);
        try
        {
            for (int s = 0; s < shards.Count; s++)
            {
                string fileName = shards.Count == 1 ? SafetensorsCheckpoint.SingleFileName
                    : $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors";
                string path = Path.Combine(outputDir, fileName);
                WriteShard(path, shards[s], dtype, seed, metadata, slice, pin.AddrOfPinnedObject());
                paths.Add(path);
            }
        }
        finally
        {
            pin.Free();
        }
        if (shards.Count > 1) WriteIndex(outputDir, shards, paths, dtype);
        return paths;
    }

    private static void WriteShard(string path, List<TensorSpec> tensors, DType dtype, ulong seed,
        Dictionary<string, string> metadata, byte[] slice, nint sliceAddress)
    {
        string dtypeName = SafetensorsDTypes.NameOf(dtype);
        var entries = new SafetensorsEntry[tensors.Count];
        for (int i = 0; i < entries.Length; i++) entries[i] = new SafetensorsEntry(tensors[i].Name, dtypeName, tensors[i].Shape);

        int size = dtype.SizeInBytes();
        long sliceElements = SliceBytes / size;
        using var writer = new SafetensorsWriter(path, entries, metadata);
        foreach (TensorSpec spec in tensors)
        {
            long total = spec.ElementCount;
            for (long first = 0; first < total; first += sliceElements)
            {
                long count = Math.Min(sliceElements, total - first);
                SeededWeightGenerator.Generate(seed, spec, first, count, dtype, sliceAddress);
                writer.Append(slice.AsSpan(0, (int)(count * size)));
            }
        }
        writer.Complete();
    }

    /// <summary>Greedy in layout order, as HF's save_pretrained does; a tensor larger than the limit gets its own shard.</summary>
    private static List<List<TensorSpec>> PlanShards(IReadOnlyList<TensorSpec> specs, DType dtype, long? maxShardBytes)
    {
        var shards = new List<List<TensorSpec>> { new() };
        long current = 0;
        foreach (TensorSpec spec in specs)
        {
            long bytes = spec.ElementCount * dtype.SizeInBytes();
            if (maxShardBytes is { } max && shards[^1].Count > 0 && current + bytes > max)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(spec);
            current += bytes;
        }
        return shards;
    }

    private static void WriteIndex(string outputDir, List<List<TensorSpec>> shards, List<string> paths, DType dtype)
    {
        long totalSize = 0;
        var weightMap = new JsonObject();
        for (int s = 0; s < shards.Count; s++)
            foreach (TensorSpec spec in shards[s])
            {
                weightMap[spec.Name] = Path.GetFileName(paths[s]);
                totalSize += spec.ElementCount * dtype.SizeInBytes();
            }
        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = totalSize },
            ["weight_map"] = weightMap,
        };
        File.WriteAllText(Path.Combine(outputDir, SafetensorsCheckpoint.IndexFileName),
            index.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static string GenerationConfigJson(HfConfig config)
    {
        var o = new JsonObject { ["_from_model_config"] = true };
        if (config.BosTokenId is { } bos) o["bos_token_id"] = bos;
        if (config.EosTokenIds.Length == 1) o["eos_token_id"] = config.EosTokenIds[0];
        else if (config.EosTokenIds.Length > 1) o["eos_token_id"] = new JsonArray(Array.ConvertAll(config.EosTokenIds, i => (JsonNode?)JsonValue.Create(i)));
        o["transformers_version"] = "4.51.0";
        return o.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>
    /// Weights from an earlier write with another shard layout would be picked up by the loader (an old index
    /// wins over a new single file), so they go first.
    /// </summary>
    private static void RemoveOldWeights(string outputDir)
    {
        foreach (string old in Directory.GetFiles(outputDir, "model*.safetensors")) File.Delete(old);
        string index = Path.Combine(outputDir, SafetensorsCheckpoint.IndexFileName);
        if (File.Exists(index)) File.Delete(index);
    }
}
