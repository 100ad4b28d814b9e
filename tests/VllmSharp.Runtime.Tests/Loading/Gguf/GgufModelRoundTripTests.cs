using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using VllmSharp.Runtime.Loading.Gguf;
using VllmSharp.Runtime.Models;
using VllmSharp.Runtime.TestModels;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading.Gguf;

/// <summary>
/// A test model written as GGUF and loaded back runs exactly like the safetensors model of the same preset, dtype
/// and seed: same config, bit-identical logits. Exactness (not a tolerance) is the point — it proves the tensor
/// name map, the metadata key map (including llama3 rope scaling and Mistral's sliding window) and that llama's
/// Q/K row permutation is applied on write and undone on load, for every architecture.
/// </summary>
public sealed class GgufModelRoundTripTests
{
    public static TheoryData<string, GgufFileType> Cases()
    {
        var data = new TheoryData<string, GgufFileType>();
        foreach (string preset in new[] { "tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3" })
            foreach (GgufFileType type in new[] { GgufFileType.F32, GgufFileType.F16, GgufFileType.BF16 })
                data.Add(preset, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Load_FloatGguf_SameConfigAndBitIdenticalLogitsAsSafetensors(string presetName, GgufFileType type)
    {
        using var dir = new TempDirectory();
        TestModelPreset preset = TestModelPresets.Get(presetName);
        DType dtype = type switch { GgufFileType.F32 => DType.F32, GgufFileType.F16 => DType.F16, _ => DType.BF16 };
        string folder = Path.Combine(dir.Path, "hf");
        TestModelWriter.Write(preset, dtype, folder, GgufModelLogits.Seed);
        string gguf = GgufModelLogits.WriteGguf(dir, preset, type);
        int[] prompt = GgufModelLogits.Prompt(preset.Config.VocabSize);

        using ICausalLM fromSafetensors = ModelLoader.Load(folder, dtype.ToString() switch { "F32" => "float32", "F16" => "float16", _ => "bfloat16" });
        using ICausalLM fromGguf = ModelLoader.Load(gguf);
        Assert.Equal(dtype, fromGguf.DType);
        // Special ids come from the GGUF's tokenizer; GGUF stores the epsilon as f32, which the model uses anyway.
        HfConfig expected = fromSafetensors.Config with
        {
            SourcePath = null,
            ModelType = "",
            BosTokenId = null,
            EosTokenIds = [],
            RmsNormEps = (float)fromSafetensors.Config.RmsNormEps,
        };
        HfConfig actual = fromGguf.Config with { SourcePath = null, ModelType = "", BosTokenId = null, EosTokenIds = [] };
        Assert.Equal(expected.ToJson(), actual.ToJson());

        float[] a = GgufModelLogits.Run(fromSafetensors, prompt), b = GgufModelLogits.Run(fromGguf, prompt);
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]))
                Assert.Fail($"{presetName} {type}: logit {i} (row {i / preset.Config.VocabSize}) is {b[i]} from GGUF, {a[i]} from safetensors");
    }

    [Fact]
    public void Load_LlamaGguf_QkRowsAreStoredPermutedAsLlamaCppExpects()
    {
        // Independent of our loader: GGUF row 2i of a head must hold HF row i and row 2i+1 HF row i + headDim/2.
        using var dir = new TempDirectory();
        TestModelPreset preset = TestModelPresets.TinyLlama;
        string gguf = GgufModelLogits.WriteGguf(dir, preset, GgufFileType.F32);
        using var file = GgufFile.Open(gguf);
        GgufTensorInfo k = file.GetTensor("blk.1.attn_k.weight");
        int cols = preset.Config.HiddenSize, headDim = preset.Config.HeadDim;
        var spec = new TensorSpec("model.layers.1.self_attn.k_proj.weight", [k.Dims[1], cols], TensorRole.Linear);
        ulong key = SeededWeightGenerator.TensorKey(GgufModelLogits.Seed, spec.Name);
        var row = new float[cols];
        foreach ((int ggufRow, int hfRow) in new[] { (0, 0), (1, headDim / 2), (2, 1), (headDim + 3, headDim + headDim / 2 + 1) })
        {
            DTypeConvert.ToSingle(k.Data + ggufRow * cols * sizeof(float), DType.F32, row);
            for (int c = 0; c < cols; c++)
                Assert.Equal(SeededWeightGenerator.Sample(key, TensorRole.Linear, (long)hfRow * cols + c), row[c]);
        }
    }

    [Fact]
    public void Load_QwenGguf_QkRowsAreNotPermuted()
    {
        using var dir = new TempDirectory();
        TestModelPreset preset = TestModelPresets.TinyQwen2;
        using var file = GgufFile.Open(GgufModelLogits.WriteGguf(dir, preset, GgufFileType.F32));
        GgufTensorInfo q = file.GetTensor("blk.0.attn_q.weight");
        int cols = preset.Config.HiddenSize;
        ulong key = SeededWeightGenerator.TensorKey(GgufModelLogits.Seed, "model.layers.0.self_attn.q_proj.weight");
        var row = new float[cols];
        DTypeConvert.ToSingle(q.Data + 1 * cols * sizeof(float), DType.F32, row);
        Assert.Equal(SeededWeightGenerator.Sample(key, TensorRole.Linear, cols), row[0]);
    }

    [Fact]
    public void Load_ExplicitDtype_ConvertsFloatMatricesLikeSafetensors()
    {
        // An f32 GGUF run as f16 equals an f32 safetensors folder run as f16 (same conversion of the same values).
        using var dir = new TempDirectory();
        TestModelPreset preset = TestModelPresets.TinyLlama;
        string folder = Path.Combine(dir.Path, "hf");
        TestModelWriter.Write(preset, DType.F32, folder, GgufModelLogits.Seed);
        string gguf = GgufModelLogits.WriteGguf(dir, preset, GgufFileType.F32);
        int[] prompt = GgufModelLogits.Prompt(preset.Config.VocabSize);
        Assert.Equal(GgufModelLogits.Load(folder, "float16", prompt), GgufModelLogits.Load(gguf, "float16", prompt));
    }

    [Fact]
    public void Write_Metadata_HasLlamaCppKeysAndTokenizer()
    {
        using var dir = new TempDirectory();
        using var file = GgufFile.Open(GgufModelLogits.WriteGguf(dir, TestModelPresets.TinyQwen3, GgufFileType.F16));
        Assert.Equal("qwen3", file.Get<string>("general.architecture"));
        Assert.Equal(1u, file.Get<uint>("general.file_type"));
        Assert.Equal(2u, file.Get<uint>("qwen3.block_count"));
        Assert.Equal(64u, file.Get<uint>("qwen3.embedding_length"));
        Assert.Equal(32u, file.Get<uint>("qwen3.attention.key_length"));
        Assert.Equal(1e6f, file.Get<float>("qwen3.rope.freq_base"));
        Assert.Equal("gpt2", file.Get<string>("tokenizer.ggml.model"));
        Assert.Equal("qwen2", file.Get<string>("tokenizer.ggml.pre"));
        Assert.Equal(512, file.Get<string[]>("tokenizer.ggml.tokens").Length);
        Assert.Equal(GgufVocabulary.Control, file.Get<int[]>("tokenizer.ggml.token_type")[ByteLevelTestVocabulary.ImEnd]);
        Assert.Equal((uint)ByteLevelTestVocabulary.ImEnd, file.Get<uint>("tokenizer.ggml.eos_token_id"));
        Assert.Contains("<|im_start|>", file.Get<string>("tokenizer.chat_template"));
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.0.attn_norm.weight").Type);
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.0.attn_q_norm.weight").Type);
        Assert.Equal(GgmlType.F16, file.GetTensor("token_embd.weight").Type);
        Assert.False(file.ContainsTensor("output.weight")); // tied
        Assert.Equal([64L, 512L], file.GetTensor("token_embd.weight").Dims);
    }

    [Fact]
    public void Load_LlamaGgufWithOnlyRopeFreqs_FitsLlama3ScalingExactly()
    {
        // llama.cpp's converter stores llama3 scaling only as rope_freqs.weight; with our own keys removed the
        // parameters are recovered from it (head_dim 64 puts three frequencies in the blended band) and the model
        // runs exactly as with them.
        using var dir = new TempDirectory();
        TestModelPreset preset = GgufModelLogits.Wide("tiny-llama");
        string stripped = GgufModelLogits.Mutate(dir, preset,
            kvs => kvs.RemoveAll(kv => kv.Key.StartsWith(GgufArchitecture.Llama3ScalingPrefix, StringComparison.Ordinal)));
        int[] prompt = GgufModelLogits.Prompt(preset.Config.VocabSize);
        using ICausalLM model = ModelLoader.Load(stripped);
        Assert.Equal(preset.Config.RopeScaling, model.Config.RopeScaling);
        Assert.Equal(GgufModelLogits.Load(dir.File("valid.gguf"), "auto", prompt), GgufModelLogits.Run(model, prompt));
    }

    [Fact]
    public void Load_RopeFreqsWithTooFewBlendedFrequencies_RefusedNamingTensor()
    {
        using var dir = new TempDirectory();
        string stripped = GgufModelLogits.Mutate(dir, TestModelPresets.TinyLlama, // head_dim 16: one blended frequency
            kvs => kvs.RemoveAll(kv => kv.Key.StartsWith(GgufArchitecture.Llama3ScalingPrefix, StringComparison.Ordinal)));
        var e = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(stripped));
        Assert.Contains(GgufArchitecture.RopeFreqsTensor, e.Message);
    }
}
