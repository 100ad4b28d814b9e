using VllmSharp.Kernels;
using VllmSharp.Runtime.Loading;
using Xunit;

namespace VllmSharp.Runtime.Tests.Loading;

public sealed class HfConfigTests
{
    // The config.json texts below are as the Hugging Face repos publish them.
    private const string Qwen25_05B = """
        {
          "architectures": ["Qwen2ForCausalLM"],
          "attention_dropout": 0.0,
          "bos_token_id": 151643,
          "eos_token_id": 151643,
          "hidden_act": "silu",
          "hidden_size": 896,
          "initializer_range": 0.02,
          "intermediate_size": 4864,
          "max_position_embeddings": 32768,
          "max_window_layers": 24,
          "model_type": "qwen2",
          "num_attention_heads": 14,
          "num_hidden_layers": 24,
          "num_key_value_heads": 2,
          "rms_norm_eps": 1e-06,
          "rope_theta": 1000000.0,
          "sliding_window": 32768,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.40.1",
          "use_cache": true,
          "use_mrope": false,
          "use_sliding_window": false,
          "vocab_size": 151936
        }
        """;

    private const string Qwen3_06B = """
        {
          "architectures": ["Qwen3ForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 151643,
          "eos_token_id": 151645,
          "head_dim": 128,
          "hidden_act": "silu",
          "hidden_size": 1024,
          "initializer_range": 0.02,
          "intermediate_size": 3072,
          "max_position_embeddings": 40960,
          "max_window_layers": 28,
          "model_type": "qwen3",
          "num_attention_heads": 16,
          "num_hidden_layers": 28,
          "num_key_value_heads": 8,
          "rms_norm_eps": 1e-06,
          "rope_scaling": null,
          "rope_theta": 1000000,
          "sliding_window": null,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.51.0",
          "use_cache": true,
          "use_sliding_window": false,
          "vocab_size": 151936
        }
        """;

    private const string Llama32_1B = """
        {
          "architectures": ["LlamaForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 128000,
          "eos_token_id": 128001,
          "head_dim": 64,
          "hidden_act": "silu",
          "hidden_size": 2048,
          "initializer_range": 0.02,
          "intermediate_size": 8192,
          "max_position_embeddings": 131072,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 16,
          "num_key_value_heads": 8,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3"
          },
          "rope_theta": 500000.0,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.45.0.dev0",
          "use_cache": true,
          "vocab_size": 128256
        }
        """;

    private const string Mistral7B = """
        {
          "architectures": ["MistralForCausalLM"],
          "bos_token_id": 1,
          "eos_token_id": 2,
          "hidden_act": "silu",
          "hidden_size": 4096,
          "initializer_range": 0.02,
          "intermediate_size": 14336,
          "max_position_embeddings": 32768,
          "model_type": "mistral",
          "num_attention_heads": 32,
          "num_hidden_layers": 32,
          "num_key_value_heads": 8,
          "rms_norm_eps": 1e-05,
          "rope_theta": 10000.0,
          "sliding_window": 4096,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.34.0.dev0",
          "use_cache": true,
          "vocab_size": 32000
        }
        """;

    private static HfConfig LoadText(TempDirectory dir, string json)
    {
        File.WriteAllText(dir.File("config.json"), json);
        return HfConfig.Load(dir.File("config.json"));
    }

    [Fact]
    public void Load_Qwen25Config_ReadsAllFieldsWithQwen2Defaults()
    {
        using var dir = new TempDirectory();
        HfConfig c = LoadText(dir, Qwen25_05B);
        Assert.Equal(["Qwen2ForCausalLM"], c.Architectures);
        Assert.Equal(HfConfig.Qwen2, c.Architecture);
        Assert.Equal("qwen2", c.ModelType);
        Assert.Equal((896, 4864, 24, 14, 2), (c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads));
        Assert.Equal(64, c.HeadDim); // 896 / 14
        Assert.Equal(151936, c.VocabSize);
        Assert.Equal(32768, c.MaxPositionEmbeddings);
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.Equal(1e6, c.RopeTheta);
        Assert.Null(c.RopeScaling);
        Assert.True(c.TieWordEmbeddings);
        Assert.True(c.AttentionBias); // Qwen2 has q/k/v biases without saying so
        Assert.Null(c.SlidingWindow); // use_sliding_window is false
        Assert.Equal(DType.BF16, c.TorchDtype);
        Assert.Equal(151643, c.BosTokenId);
        Assert.Equal([151643], c.EosTokenIds);
    }

    [Fact]
    public void Load_Qwen3Config_UsesExplicitHeadDim()
    {
        using var dir = new TempDirectory();
        HfConfig c = LoadText(dir, Qwen3_06B);
        Assert.Equal(HfConfig.Qwen3, c.Architecture);
        Assert.Equal(128, c.HeadDim); // not 1024 / 16
        Assert.Equal(8, c.NumKeyValueHeads);
        Assert.False(c.AttentionBias);
        Assert.Null(c.RopeScaling);
        Assert.Null(c.SlidingWindow);
        Assert.Equal(1e6, c.RopeTheta);
        Assert.Equal(40960, c.MaxPositionEmbeddings);
        Assert.Equal([151645], c.EosTokenIds);
    }

    [Fact]
    public void Load_Llama32Config_ReadsLlama3RopeScaling()
    {
        using var dir = new TempDirectory();
        HfConfig c = LoadText(dir, Llama32_1B);
        Assert.Equal(HfConfig.Llama, c.Architecture);
        Assert.Equal(new RopeScalingConfig("llama3", 32, 1, 4, 8192), c.RopeScaling);
        Assert.Equal(500000, c.RopeTheta);
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(64, c.HeadDim);
        Assert.False(c.AttentionBias);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(128000, c.BosTokenId);
    }

    [Fact]
    public void Load_Mistral7BConfig_KeepsSlidingWindowAndDefaults()
    {
        using var dir = new TempDirectory();
        HfConfig c = LoadText(dir, Mistral7B);
        Assert.Equal(HfConfig.Mistral, c.Architecture);
        Assert.Equal(4096, c.SlidingWindow);
        Assert.Equal(128, c.HeadDim); // 4096 / 32
        Assert.False(c.AttentionBias);
        Assert.False(c.TieWordEmbeddings);
        Assert.Null(c.RopeScaling);
        Assert.Equal([2], c.EosTokenIds);
    }

    [Fact]
    public void Load_MissingOptionalKeys_AppliesHfDefaults()
    {
        using var dir = new TempDirectory();
        HfConfig c = LoadText(dir, """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "eos_token_id": [5, 6]}
            """);
        Assert.Equal(4, c.NumKeyValueHeads);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal(10000, c.RopeTheta);
        Assert.False(c.AttentionBias);
        Assert.Null(c.TorchDtype);
        Assert.Null(c.BosTokenId);
        Assert.Equal([5, 6], c.EosTokenIds);
    }

    [Fact]
    public void Load_QwenWithSlidingWindowEnabled_SetsWindow()
    {
        using var dir = new TempDirectory();
        HfConfig c = LoadText(dir, Qwen25_05B.Replace("\"use_sliding_window\": false", "\"use_sliding_window\": true"));
        Assert.Equal(32768, c.SlidingWindow);
    }

    [Theory]
    [InlineData("\"rope_type\": \"linear\", \"factor\": 2.0", "linear")]
    [InlineData("\"type\": \"linear\", \"factor\": 2.0", "linear")]
    public void Load_LinearRopeScaling_AcceptsBothTypeKeys(string body, string expectedType)
    {
        using var dir = new TempDirectory();
        HfConfig c = LoadText(dir, Mistral7B.Replace("\"rope_theta\": 10000.0", "\"rope_theta\": 10000.0, \"rope_scaling\": {" + body + "}"));
        Assert.Equal(new RopeScalingConfig(expectedType, 2.0), c.RopeScaling);
    }

    [Fact]
    public void Load_UnsupportedRopeScaling_ThrowsNamingTheType()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => LoadText(dir, Mistral7B.Replace("\"rope_theta\": 10000.0",
            "\"rope_theta\": 10000.0, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}")));
        Assert.Equal(dir.File("config.json"), e.Path);
        Assert.Contains("unsupported rope_scaling type 'yarn'", e.Message);
        Assert.StartsWith(dir.File("config.json") + ": ", e.Message);
    }

    [Fact]
    public void Load_UnsupportedArchitecture_ThrowsListingSupported()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => LoadText(dir, Mistral7B.Replace("MistralForCausalLM", "GPT2LMHeadModel")));
        Assert.Equal(dir.File("config.json"), e.Path);
        Assert.Contains("unsupported architecture 'GPT2LMHeadModel'", e.Problem);
        Assert.Contains("LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM", e.Problem);
    }

    [Fact]
    public void Load_MissingFolder_ThrowsNamingTheFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "vllmsharp-no-such-model-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<ModelLoadException>(() => HfConfig.Load(folder));
        Assert.Equal(folder, e.Path);
        Assert.Contains("model folder not found", e.Message);
        var e2 = Assert.Throws<ModelLoadException>(() => HfConfig.Load(Path.Combine(folder, "config.json")));
        Assert.Equal(folder, e2.Path);
    }

    [Fact]
    public void Load_MissingConfigJson_ThrowsNamingTheFile()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => HfConfig.Load(dir.Path));
        Assert.Equal(dir.File("config.json"), e.Path);
        Assert.Equal(dir.File("config.json") + ": config.json not found", e.Message);
    }

    [Fact]
    public void Load_MissingRequiredKey_ThrowsNamingTheKey()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => LoadText(dir, Mistral7B.Replace("\"vocab_size\": 32000", "\"unused\": 1")));
        Assert.Contains("missing required key 'vocab_size'", e.Message);
        Assert.Equal(dir.File("config.json"), e.Path);
    }

    [Fact]
    public void Load_InvalidJson_ThrowsNamingTheFile()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => LoadText(dir, "{\"architectures\": [\"LlamaForCausalLM\""));
        Assert.Equal(dir.File("config.json"), e.Path);
        Assert.StartsWith("invalid JSON", e.Problem);
    }

    [Theory]
    [InlineData("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5", "not divisible by num_key_value_heads")]
    [InlineData("\"hidden_size\": 4096", "\"hidden_size\": 0", "hidden_size must be positive")]
    [InlineData("\"num_hidden_layers\": 32", "\"num_hidden_layers\": -1", "num_hidden_layers must be positive")]
    public void Load_InvalidSizes_Throws(string from, string to, string expected)
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelLoadException>(() => LoadText(dir, Mistral7B.Replace(from, to)));
        Assert.Contains(expected, e.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ToJson_ReloadedConfig_EqualsOriginal(int which)
    {
        using var dir = new TempDirectory();
        HfConfig original = LoadText(dir, new[] { Qwen25_05B, Qwen3_06B, Llama32_1B, Mistral7B }[which]);
        string json = original.ToJson();
        HfConfig reloaded = LoadText(dir, json);
        Assert.Equal(json, reloaded.ToJson());
        Assert.Equal(original with { Architectures = [], EosTokenIds = [] }, reloaded with { Architectures = [], EosTokenIds = [] });
        Assert.Equal(original.Architectures, reloaded.Architectures);
        Assert.Equal(original.EosTokenIds, reloaded.EosTokenIds);
        Assert.Contains("\"torch_dtype\": \"bfloat16\"", json);
        Assert.Contains("\"model_type\": \"" + original.ModelType + "\"", json);
    }
}
