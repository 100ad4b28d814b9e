using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VllmSharp.Server.Protocol;

/// <summary>
/// vLLM's <c>--generation-config</c>: the sampling defaults the model's creator recommends in
/// <c>generation_config.json</c>, used for every field a request leaves unset. <c>auto</c> reads the model folder's
/// file, <c>vllm</c> ignores it (vLLM's own defaults), any other value is a folder holding the file.
/// </summary>
/// <remarks>
/// As vLLM (which reads the file through transformers' <c>to_diff_dict</c>), a value equal to transformers' own default
/// (temperature 1.0, top_p 1.0, top_k 50, repetition_penalty 1.0) does not count as a recommendation, and
/// <c>max_new_tokens</c> becomes the default <c>max_tokens</c>.
/// </remarks>
public sealed record GenerationConfigDefaults
{
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public double? RepetitionPenalty { get; init; }
    public int? MaxTokens { get; init; }

    /// <summary>True when no field is set (nothing overrides vLLM's defaults).</summary>
    public bool IsEmpty => this == new GenerationConfigDefaults();

    /// <summary>Resolves <paramref name="mode"/> (auto | vllm | FOLDER) for the model in <paramref name="modelDir"/>.</summary>
    public static GenerationConfigDefaults Load(string mode, string? modelDir)
    {
        if (mode == "vllm") return new GenerationConfigDefaults();
        string? folder = mode == "auto" ? modelDir : mode;
        if (folder is null) return new GenerationConfigDefaults();
        if (mode != "auto" && !Directory.Exists(folder))
            throw new ArgumentException($"--generation-config must be auto, vllm or a folder holding generation_config.json; '{mode}' is none of these.");
        string path = Path.Combine(folder, "generation_config.json");
        return File.Exists(path) ? Parse(File.ReadAllText(path), path) : new GenerationConfigDefaults();
    }

    /// <summary>Reads the recommended sampling values of one generation_config.json text.</summary>
    public static GenerationConfigDefaults Parse(string json, string source = "generation_config.json")
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{source} is not a JSON object.");
            return new GenerationConfigDefaults
            {
                Temperature = Number(root, "temperature", 1.0),
                TopP = Number(root, "top_p", 1.0),
                TopK = Number(root, "top_k", 50) is double k ? (int)k : null,
                MinP = Number(root, "min_p", null),
                RepetitionPenalty = Number(root, "repetition_penalty", 1.0),
                MaxTokens = Number(root, "max_new_tokens", null) is double m ? (int)m : null,
            };
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source} is not valid JSON: {e.Message}");
        }
    }

    private static double? Number(JsonElement root, string name, double? transformersDefault)
        => root.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.GetDouble() is double d && d != transformersDefault ? d : null;

    /// <summary>vLLM's dict-style rendering of the overridden values, e.g. <c>{'temperature': 0.7, 'top_p': 0.8}</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder("{");
        void Add(string name, object? value)
        {
            if (value is null) return;
            if (text.Length > 1) text.Append(", ");
            text.Append('\'').Append(name).Append("': ").Append(Convert.ToString(value, CultureInfo.InvariantCulture));
        }
        Add("repetition_penalty", RepetitionPenalty);
        Add("temperature", Temperature);
        Add("top_k", TopK);
        Add("top_p", TopP);
        Add("min_p", MinP);
        Add("max_tokens", MaxTokens);
        return text.Append('}').ToString();
    }
}
