using System.Runtime.InteropServices;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

/// <summary>Writes test models as GGUF / safetensors and runs one prefill over a fixed prompt, returning every row's logits.</summary>
internal static class GgufModelLogits
{
    public const ulong Seed = 17;
    private const int BlockSize = 4;

    /// <summary>23 fixed token ids spread over the vocabulary (so embedding rows of both halves are used).</summary>
    public static int[] Prompt(int vocabSize)
    {
        var random = new Random(5);
        var ids = new int[23];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.Next(vocabSize);
        return ids;
    }

    public static string WriteGguf(TempDirectory dir, TestModelPreset preset, GgufFileType type, string name = "model.gguf")
    {
        string path = dir.File(name);
        GgufTestModelWriter.Write(preset, type, path, Seed, ByteLevelTestVocabulary.Create());
        return path;
    }

    public static float[] Run(ICausalLM model, int[] tokens)
    {
        var cache = new KVCacheTensors(model.NumLayers, 16, BlockSize, model.NumKvHeads, model.HeadDim);
        var batch = new ForwardBatch(64, 1, 16);
        int[] blocks = new int[16];
        for (int i = 0; i < blocks.Length; i++) blocks[i] = i;
        batch.AddSequence(tokens, 0, blocks, BlockSize, computeLogits: false);
        for (int row = 0; row < tokens.Length; row++) batch.AddLogitsIndex(row);
        return model.Forward(batch, cache).ToArray();
    }

    public static float[] Load(string path, string dtype, int[] tokens)
    {
        using ICausalLM model = ModelLoader.Load(path, dtype);
        return Run(model, tokens);
    }

    /// <summary>‖a − b‖₂ / ‖b‖₂.</summary>
    public static double RelativeError(float[] a, float[] b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            num += d * d;
            den += (double)b[i] * b[i];
        }
        return Math.Sqrt(num / den);
    }

    /// <summary>A preset widened so every matrix row is a whole number of 256-value k-quant blocks.</summary>
    public static TestModelPreset Wide(string presetName) =>
        TestModelPresets.Get(presetName) is var p
            ? p with { Name = p.Name + "-wide", Config = p.Config with { HiddenSize = 256, IntermediateSize = 512, HeadDim = 64 } }
            : throw new InvalidOperationException();

    /// <summary>
    /// Rewrites a valid tiny model with its metadata edited and chosen tensors replaced (zero data of the new
    /// type and dims), through our writer so the file is otherwise well-formed.
    /// </summary>
    public static string Mutate(TempDirectory dir, TestModelPreset preset, Action<List<(string Key, object Value)>>? metadata = null,
        Func<GgufTensorInfo, (GgmlType Type, long[] Dims)?>? replace = null, string? dropTensor = null)
    {
        string valid = GgufModelLogits.WriteGguf(dir, preset, GgufFileType.F32, "valid.gguf");
        string path = dir.File("broken.gguf");
        using (var file = GgufFile.Open(valid))
        {
            var kvs = new List<(string Key, object Value)>();
            foreach (var kv in file.Metadata) kvs.Add((kv.Key, kv.Value));
            metadata?.Invoke(kvs);
            var writer = new GgufWriter(path);
            foreach ((string key, object value) in kvs) writer.AddMetadata(key, value);
            foreach (GgufTensorInfo t in file.Tensors)
            {
                if (t.Name == dropTensor) continue;
                if (replace?.Invoke(t) is { } r)
                {
                    long elements = 1;
                    foreach (long d in r.Dims) elements *= d;
                    writer.AddTensor(t.Name, r.Dims, r.Type, new byte[GgmlTypeInfo.RowBytes(r.Type, elements)]);
                    continue;
                }
                var bytes = new byte[t.ByteLength];
                Marshal.Copy(t.Data, bytes, 0, bytes.Length);
                writer.AddTensor(t.Name, t.Dims, t.Type, bytes);
            }
            writer.Write();
        }
        return path;
    }

    public static void Set(List<(string Key, object Value)> kvs, string key, object value)
    {
        int i = kvs.FindIndex(kv => kv.Key == key);
        if (i >= 0) kvs[i] = (key, value);
        else kvs.Add((key, value));
    }
}
