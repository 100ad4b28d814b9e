using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>
/// The parts of a Hugging Face config.json that a decoder-only model needs. Defaults follow HF transformers
/// (num_key_value_heads = heads, head_dim = hidden / heads, rope_theta = 10000, attention_bias = true only for
/// Qwen2). Floating-point values stay <see cref="double"/> so that writing the config back loses nothing.
/// </summary>
public sealed record HfConfig
{
    public const string Llama = "LlamaForCausalLM";
    public const string Mistral = "MistralForCausalLM";
    public const string Qwen2 = "Qwen2ForCausalLM";
    public const string Qwen3 = "Qwen3ForCausalLM";

    /// <summary>Architectures this engine can run.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = [Llama, Mistral, Qwen2, Qwen3];

    public string[] Architectures { get; init; } = [];
    /// <summary>The first of <see cref="Architectures"/> (HF uses it to pick the model class).</summary>
    public string Architecture => Architectures.Length > 0 ? Architectures[0] : "";
    public string ModelType { get; init; } = "";
    public int HiddenSize { get; init; }
    public int IntermediateSize { get; init; }
    public int NumHiddenLayers { get; init; }
    public int NumAttentionHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    public int HeadDim { get; init; }
    public int VocabSize { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public RopeScalingConfig? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    /// <summary>Sliding-window attention span in tokens, or null for full attention in every layer.</summary>
    public int? SlidingWindow { get; init; }
    public DType? TorchDtype { get; init; }
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];

    /// <summary>The config.json this was read from (used in error messages); null when built in code.</summary>
    public string? SourcePath { get; init; }

    /// <summary>Reads and validates <paramref name="configJsonPath"/>; a folder path means its config.json.</summary>
    public static HfConfig Load(string configJsonPath)
    {
        ArgumentNullException.ThrowIfNull(configJsonPath);
        string path = configJsonPath;
        if (Directory.Exists(path)) path = System.IO.Path.Combine(path, "config.json");
        else if (!File.Exists(path))
        {
            // A path that is not a .json file names the model folder; otherwise its folder must exist.
            bool isJson = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
            string? folder = isJson ? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) : path;
            if (folder is not null && !Directory.Exists(folder))
                throw new ModelLoadException(folder, "model folder not found");
        }
        if (!File.Exists(path)) throw new ModelLoadException(path, "config.json not found");

        byte[] json;
        try { json = File.ReadAllBytes(path); }
        catch (IOException e) { throw new ModelLoadException(path, "cannot read: " + e.Message, e); }
        HfConfig config = HfConfigJson.Parse(json, path);
        config.Validate();
        return config;
    }

    /// <summary>HF-style snake_case config.json text that HF transformers accepts.</summary>
    public string ToJson() => HfConfigJson.Write(this);

    /// <summary>Throws <see cref="ModelLoadException"/> if this engine cannot run a model with this config.</summary>
    public void Validate()
    {
        string path = SourcePath ?? "config.json";
        if (!SupportedArchitectures.Contains(Architecture))
        {
            string name = Architecture.Length == 0 ? "(none)" : $"'{Architecture}'";
            throw new ModelLoadException(path,
                $"unsupported architecture {name}; supported: {string.Join(", ", SupportedArchitectures)}");
        }
        RequirePositive(path, "hidden_size", HiddenSize);
        RequirePositive(path, "intermediate_size", IntermediateSize);
        RequirePositive(path, "num_hidden_layers", NumHiddenLayers);
        RequirePositive(path, "num_attention_heads", NumAttentionHeads);
        RequirePositive(path, "num_key_value_heads", NumKeyValueHeads);
        RequirePositive(path, "head_dim", HeadDim);
        RequirePositive(path, "vocab_size", VocabSize);
        RequirePositive(path, "max_position_embeddings", MaxPositionEmbeddings);
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new ModelLoadException(path,
                $"num_attention_heads ({NumAttentionHeads}) is not divisible by num_key_value_heads ({NumKeyValueHeads})");
        if (HeadDim % 2 != 0)
            throw new ModelLoadException(path, $"head_dim ({HeadDim}) must be even for rotary embeddings");
        if (!(RmsNormEps > 0)) throw new ModelLoadException(path, $"rms_norm_eps must be positive, got {RmsNormEps}");
        if (!(RopeTheta > 0)) throw new ModelLoadException(path, $"rope_theta must be positive, got {RopeTheta}");
        if (SlidingWindow is <= 0) throw new ModelLoadException(path, $"sliding_window must be positive, got {SlidingWindow}");
        if (RopeScaling is { } s && !(s.Factor > 0))
            throw new ModelLoadException(path, $"rope_scaling factor must be positive, got {s.Factor}");
    }

    private static void RequirePositive(string path, string key, int value)
    {
        if (value <= 0) throw new ModelLoadException(path, $"{key} must be positive, got {value}");
    }
}
