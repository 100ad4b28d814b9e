using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;

namespace VllmSharp.Runtime.TestModels;

/// <summary>
/// Model shapes for test models: the real configs of small popular checkpoints (as their Hugging Face
/// config.json files state them) and tiny versions of each architecture for fast tests.
/// </summary>
public static class TestModelPresets
{
    /// <summary>Qwen/Qwen2.5-0.5B: 494,032,768 weights.</summary>
    public static TestModelPreset Qwen25_05B { get; } = new("qwen2.5-0.5b", new HfConfig
    {
        Architectures = [HfConfig.Qwen2], ModelType = "qwen2",
        HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = 24, NumAttentionHeads = 14, NumKeyValueHeads = 2,
        HeadDim = 64, VocabSize = 151936, MaxPositionEmbeddings = 32768, RmsNormEps = 1e-6, RopeTheta = 1_000_000,
        TieWordEmbeddings = true, AttentionBias = true, TorchDtype = DType.BF16, BosTokenId = 151643, EosTokenIds = [151643],
    }, 151643, [151643]);

    /// <summary>Qwen/Qwen3-0.6B.</summary>
    public static TestModelPreset Qwen3_06B { get; } = new("qwen3-0.6b", new HfConfig
    {
        Architectures = [HfConfig.Qwen3], ModelType = "qwen3",
        HiddenSize = 1024, IntermediateSize = 3072, NumHiddenLayers = 28, NumAttentionHeads = 16, NumKeyValueHeads = 8,
        HeadDim = 128, VocabSize = 151936, MaxPositionEmbeddings = 40960, RmsNormEps = 1e-6, RopeTheta = 1_000_000,
        TieWordEmbeddings = true, AttentionBias = false, TorchDtype = DType.BF16, BosTokenId = 151643, EosTokenIds = [151645],
    }, 151643, [151645]);

    /// <summary>meta-llama/Llama-3.2-1B: 1,235,814,400 weights.</summary>
    public static TestModelPreset Llama32_1B { get; } = new("llama-3.2-1b", new HfConfig
    {
        Architectures = [HfConfig.Llama], ModelType = "llama",
        HiddenSize = 2048, IntermediateSize = 8192, NumHiddenLayers = 16, NumAttentionHeads = 32, NumKeyValueHeads = 8,
        HeadDim = 64, VocabSize = 128256, MaxPositionEmbeddings = 131072, RmsNormEps = 1e-5, RopeTheta = 500_000,
        RopeScaling = new RopeScalingConfig(RopeScalingConfig.Llama3, 32, 1, 4, 8192),
        TieWordEmbeddings = true, AttentionBias = false, TorchDtype = DType.BF16, BosTokenId = 128000, EosTokenIds = [128001],
    }, 128000, [128001]);

    /// <summary>mistralai/Mistral-7B-v0.1 (sliding window 4096).</summary>
    public static TestModelPreset Mistral7B { get; } = new("mistral-7b", new HfConfig
    {
        Architectures = [HfConfig.Mistral], ModelType = "mistral",
        HiddenSize = 4096, IntermediateSize = 14336, NumHiddenLayers = 32, NumAttentionHeads = 32, NumKeyValueHeads = 8,
        HeadDim = 128, VocabSize = 32000, MaxPositionEmbeddings = 32768, RmsNormEps = 1e-5, RopeTheta = 10000,
        SlidingWindow = 4096, TieWordEmbeddings = false, AttentionBias = false, TorchDtype = DType.BF16,
        BosTokenId = 1, EosTokenIds = [2],
    }, 1, [2]);

    /// <summary>Tiny Llama 3 shape with llama3 rope scaling and tied embeddings.</summary>
    public static TestModelPreset TinyLlama { get; } = Tiny("tiny-llama", Llama32_1B, headDim: 16);

    /// <summary>Tiny Mistral shape: untied lm_head and a 128-token sliding window, so both paths get exercised.</summary>
    public static TestModelPreset TinyMistral { get; } = Tiny("tiny-mistral", Mistral7B, headDim: 16, slidingWindow: 128);

    /// <summary>Tiny Qwen2 shape: q/k/v biases, tied embeddings.</summary>
    public static TestModelPreset TinyQwen2 { get; } = Tiny("tiny-qwen2", Qwen25_05B, headDim: 16);

    /// <summary>Tiny Qwen3 shape: q/k norms and an explicit head_dim (32) unequal to hidden/heads (16).</summary>
    public static TestModelPreset TinyQwen3 { get; } = Tiny("tiny-qwen3", Qwen3_06B, headDim: 32);

    public static IReadOnlyList<TestModelPreset> All { get; } =
        [Qwen25_05B, Qwen3_06B, Llama32_1B, Mistral7B, TinyLlama, TinyMistral, TinyQwen2, TinyQwen3];

    /// <summary>The preset names, in the order of <see cref="All"/> (for help texts).</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll([.. All], p => p.Name);

    /// <summary>The preset named <paramref name="name"/> (case-insensitive).</summary>
    public static TestModelPreset Get(string name)
    {
        foreach (TestModelPreset p in All)
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p;
        throw new ArgumentException($"unknown test model preset '{name}'; choose one of: {string.Join(", ", Names)}", nameof(name));
    }

    private static TestModelPreset Tiny(string name, TestModelPreset family, int headDim, int? slidingWindow = null) =>
        (family with
        {
            Name = name,
            Config = family.Config with
            {
                HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
                HeadDim = headDim, MaxPositionEmbeddings = 2048,
                SlidingWindow = slidingWindow ?? family.Config.SlidingWindow,
            },
        }).WithVocabSize(512);
}
