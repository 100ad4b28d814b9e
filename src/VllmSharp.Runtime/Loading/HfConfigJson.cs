using System.Text.Json;
using System.Text.Json.Nodes;
using VllmSharp.Kernels;

namespace VllmSharp.Runtime.Loading;

/// <summary>Reads and writes <see cref="HfConfig"/> in the snake_case layout of HF config.json files.</summary>
internal static class HfConfigJson
{
    public static HfConfig Parse(byte[] json, string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }); }
        catch (JsonException e) { throw new ModelLoadException(path, "invalid JSON: " + FirstLine(e.Message), e); }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ModelLoadException(path, "invalid config: the top level is not a JSON object");
            var r = new Reader(root, path);

            string[] architectures = r.StringArray("architectures") ?? throw Missing(path, "architectures");
            string architecture = architectures.Length > 0 ? architectures[0] : "";
            int hidden = r.Int("hidden_size") ?? throw Missing(path, "hidden_size");
            int heads = r.Int("num_attention_heads") ?? throw Missing(path, "num_attention_heads");
            int? headDim = r.Int("head_dim");
            if (headDim is null && heads > 0 && hidden % heads != 0)
                throw new ModelLoadException(path, $"hidden_size ({hidden}) is not divisible by num_attention_heads ({heads}) and head_dim is not set");

            // transformers v5 moves rope_theta and the scaling into "rope_parameters".
            JsonElement? ropeParameters = r.Object("rope_parameters");
            double ropeTheta = r.Double("rope_theta")
                ?? (ropeParameters is { } rp ? new Reader(rp, path).Double("rope_theta") : null)
                ?? 10000;
            RopeScalingConfig? scaling = ParseRopeScaling(r.Object("rope_scaling") ?? ropeParameters, path);

            bool useSlidingWindow = r.Bool("use_sliding_window") ?? false;
            int? slidingWindow = r.Int("sliding_window");
            if (!(useSlidingWindow || architecture == HfConfig.Mistral)) slidingWindow = null;

            string? dtypeName = r.String("torch_dtype") ?? r.String("dtype");
            return new HfConfig
            {
                Architectures = architectures,
                ModelType = r.String("model_type") ?? "",
                HiddenSize = hidden,
                IntermediateSize = r.Int("intermediate_size") ?? throw Missing(path, "intermediate_size"),
                NumHiddenLayers = r.Int("num_hidden_layers") ?? throw Missing(path, "num_hidden_layers"),
                NumAttentionHeads = heads,
                NumKeyValueHeads = r.Int("num_key_value_heads") ?? heads,
                HeadDim = headDim ?? (heads > 0 ? hidden / heads : 0),
                VocabSize = r.Int("vocab_size") ?? throw Missing(path, "vocab_size"),
                MaxPositionEmbeddings = r.Int("max_position_embeddings") ?? 2048,
                RmsNormEps = r.Double("rms_norm_eps") ?? 1e-6,
                RopeTheta = ropeTheta,
                RopeScaling = scaling,
                TieWordEmbeddings = r.Bool("tie_word_embeddings") ?? false,
                AttentionBias = r.Bool("attention_bias") ?? architecture == HfConfig.Qwen2,
                SlidingWindow = slidingWindow,
                TorchDtype = dtypeName is null ? null : ParseDType(dtypeName),
                BosTokenId = r.Int("bos_token_id"),
                EosTokenIds = r.IntOrIntArray("eos_token_id") ?? [],
                SourcePath = path,
            };
        }
    }

    private static RopeScalingConfig? ParseRopeScaling(JsonElement? element, string path)
    {
        if (element is not { } e) return null;
        var r = new Reader(e, path);
        string type = r.String("rope_type") ?? r.String("type") ?? "default";
        switch (type)
        {
            case "default":
                return null;
            case RopeScalingConfig.Linear:
                return new RopeScalingConfig(type, r.Double("factor") ?? throw Missing(path, "rope_scaling.factor"));
            case RopeScalingConfig.Llama3:
                return new RopeScalingConfig(type,
                    r.Double("factor") ?? throw Missing(path, "rope_scaling.factor"),
                    r.Double("low_freq_factor") ?? throw Missing(path, "rope_scaling.low_freq_factor"),
                    r.Double("high_freq_factor") ?? throw Missing(path, "rope_scaling.high_freq_factor"),
                    r.Int("original_max_position_embeddings") ?? throw Missing(path, "rope_scaling.original_max_position_embeddings"));
            default:
                throw new ModelLoadException(path,
                    $"unsupported rope_scaling type '{type}'; supported: {RopeScalingConfig.Llama3}, {RopeScalingConfig.Linear}");
        }
    }

    private static DType? ParseDType(string name) => name switch
    {
        "float32" => DType.F32,
        "float16" => DType.F16,
        "bfloat16" => DType.BF16,
        // Other dtypes (float64, quantised markers) say nothing usable about the weights' precision.
        _ => null,
    };

    public static string ModelTypeOf(string architecture) => architecture switch
    {
        HfConfig.Llama => "llama",
        HfConfig.Mistral => "mistral",
        HfConfig.Qwen2 => "qwen2",
        HfConfig.Qwen3 => "qwen3",
        _ => "",
    };

    public static string DTypeName(DType type) => type switch
    {
        DType.F32 => "float32",
        DType.F16 => "float16",
        _ => "bfloat16",
    };

    public static string Write(HfConfig c)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(Array.ConvertAll(c.Architectures, a => (JsonNode?)JsonValue.Create(a))),
            ["model_type"] = c.ModelType.Length > 0 ? c.ModelType : ModelTypeOf(c.Architecture),
            ["hidden_act"] = "silu",
            ["hidden_size"] = c.HiddenSize,
            ["intermediate_size"] = c.IntermediateSize,
            ["num_hidden_layers"] = c.NumHiddenLayers,
            ["num_attention_heads"] = c.NumAttentionHeads,
            ["num_key_value_heads"] = c.NumKeyValueHeads,
            ["head_dim"] = c.HeadDim,
            ["vocab_size"] = c.VocabSize,
            ["max_position_embeddings"] = c.MaxPositionEmbeddings,
            ["rms_norm_eps"] = c.RmsNormEps,
            ["rope_theta"] = c.RopeTheta,
            ["rope_scaling"] = c.RopeScaling is { } s ? WriteScaling(s) : null,
            ["tie_word_embeddings"] = c.TieWordEmbeddings,
            ["attention_bias"] = c.AttentionBias,
            ["attention_dropout"] = 0.0,
            ["initializer_range"] = 0.02,
            ["use_cache"] = true,
        };
        if (c.Architecture == HfConfig.Mistral) o["sliding_window"] = c.SlidingWindow;
        else if (c.Architecture is HfConfig.Qwen2 or HfConfig.Qwen3)
        {
            o["use_sliding_window"] = c.SlidingWindow is not null;
            o["sliding_window"] = c.SlidingWindow;
            o["max_window_layers"] = c.NumHiddenLayers;
        }
        if (c.TorchDtype is { } dtype) o["torch_dtype"] = DTypeName(dtype);
        if (c.BosTokenId is { } bos) o["bos_token_id"] = bos;
        if (c.EosTokenIds.Length == 1) o["eos_token_id"] = c.EosTokenIds[0];
        else if (c.EosTokenIds.Length > 1) o["eos_token_id"] = new JsonArray(Array.ConvertAll(c.EosTokenIds, i => (JsonNode?)JsonValue.Create(i)));
        o["transformers_version"] = "4.51.0";
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonObject WriteScaling(RopeScalingConfig s)
    {
        var o = new JsonObject { ["rope_type"] = s.Type, ["factor"] = s.Factor };
        if (s.LowFreqFactor is { } low) o["low_freq_factor"] = low;
        if (s.HighFreqFactor is { } high) o["high_freq_factor"] = high;
        if (s.OriginalMaxPositionEmbeddings is { } orig) o["original_max_position_embeddings"] = orig;
        return o;
    }

    private static ModelLoadException Missing(string path, string key) => new(path, $"missing required key '{key}'");

    private static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    /// <summary>Typed, null-tolerant access to one JSON object (HF writes null for unset keys).</summary>
    private readonly struct Reader(JsonElement obj, string path)
    {
        private JsonElement? Get(string key) =>
            obj.TryGetProperty(key, out JsonElement v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public int? Int(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)) return i;
            // Some configs write integral values as floats (e.g. 32768.0).
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue) return (int)d;
            throw new ModelLoadException(path, $"'{key}' must be an integer, got {v.GetRawText()}");
        }

        public double? Double(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind == JsonValueKind.Number) return v.GetDouble();
            throw new ModelLoadException(path, $"'{key}' must be a number, got {v.GetRawText()}");
        }

        public bool? Bool(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
            throw new ModelLoadException(path, $"'{key}' must be true or false, got {v.GetRawText()}");
        }

        public string? String(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind == JsonValueKind.String) return v.GetString();
            throw new ModelLoadException(path, $"'{key}' must be a string, got {v.GetRawText()}");
        }

        public JsonElement? Object(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind == JsonValueKind.Object) return v;
            throw new ModelLoadException(path, $"'{key}' must be an object, got {v.GetRawText()}");
        }

        public string[]? StringArray(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Array) throw new ModelLoadException(path, $"'{key}' must be a list of strings");
            var result = new string[v.GetArrayLength()];
            int i = 0;
            foreach (JsonElement item in v.EnumerateArray())
                result[i++] = item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new ModelLoadException(path, $"'{key}' must be a list of strings");
            return result;
        }

        public int[]? IntOrIntArray(string key)
        {
            if (Get(key) is not { } v) return null;
            if (v.ValueKind == JsonValueKind.Number) return [Int(key)!.Value];
            if (v.ValueKind != JsonValueKind.Array) throw new ModelLoadException(path, $"'{key}' must be an integer or a list of integers");
            var result = new int[v.GetArrayLength()];
            int i = 0;
            foreach (JsonElement item in v.EnumerateArray())
                result[i++] = item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out int id) ? id
                    : throw new ModelLoadException(path, $"'{key}' must be an integer or a list of integers");
            return result;
        }
    }
}
