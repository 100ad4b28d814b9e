using System.Text.Json;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// What the engine takes from Transformers' <c>tokenizer_config.json</c>, the optional
/// <c>chat_template.jinja</c> and <c>generation_config.json</c>.
/// </summary>
public sealed record TokenizerConfig
{
    public string? TokenizerClass { get; init; }

    public string? BosToken { get; init; }

    public string? EosToken { get; init; }

    public string? UnkToken { get; init; }

    public string? PadToken { get; init; }

    /// <summary>Explicit <c>add_bos_token</c>, or null when the file does not say.</summary>
    public bool? AddBosToken { get; init; }

    /// <summary>Explicit <c>add_eos_token</c>, or null when the file does not say.</summary>
    public bool? AddEosToken { get; init; }

    public string? ChatTemplate { get; init; }

    /// <summary>generation_config.json <c>eos_token_id</c> (an int or a list there).</summary>
    public IReadOnlyList<int> GenerationEosTokenIds { get; init; } = [];

    /// <summary>generation_config.json <c>bos_token_id</c>.</summary>
    public int? GenerationBosTokenId { get; init; }

    internal IReadOnlyList<AddedToken> AddedTokensDecoder { get; init; } = [];

    /// <summary>Reads the three optional files of <paramref name="modelDir"/>; missing files give defaults.</summary>
    public static TokenizerConfig Load(string modelDir)
    {
        var config = new TokenizerConfig();
        string configPath = Path.Combine(modelDir, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            config = Parse(File.ReadAllBytes(configPath));
        }

        string templatePath = Path.Combine(modelDir, "chat_template.jinja");
        if (File.Exists(templatePath))
        {
            // Transformers prefers the separate file over the config's chat_template.
            config = config with { ChatTemplate = File.ReadAllText(templatePath) };
        }

        string generationPath = Path.Combine(modelDir, "generation_config.json");
        if (File.Exists(generationPath))
        {
            config = WithGenerationConfig(config, File.ReadAllBytes(generationPath));
        }

        return config;
    }

    /// <summary>Parses the content of a tokenizer_config.json.</summary>
    public static TokenizerConfig Parse(ReadOnlySpan<byte> json)
    {
        using JsonDocument doc = ParseDocument(json, "tokenizer_config.json");
        JsonElement root = doc.RootElement;
        var added = new List<AddedToken>();
        if (TokenizerJson.GetObject(root, "added_tokens_decoder") is JsonElement decoder)
        {
            foreach (JsonProperty entry in decoder.EnumerateObject())
            {
                if (int.TryParse(entry.Name, out int id))
                {
                    added.Add(TokenizerJson.ReadAddedToken(id, entry.Value));
                }
            }
        }

        return new TokenizerConfig
        {
            TokenizerClass = TokenizerJson.GetString(root, "tokenizer_class"),
            BosToken = ReadTokenText(root, "bos_token"),
            EosToken = ReadTokenText(root, "eos_token"),
            UnkToken = ReadTokenText(root, "unk_token"),
            PadToken = ReadTokenText(root, "pad_token"),
            AddBosToken = ReadOptionalBool(root, "add_bos_token"),
            AddEosToken = ReadOptionalBool(root, "add_eos_token"),
            ChatTemplate = ReadChatTemplate(root),
            AddedTokensDecoder = added,
        };
    }

    /// <summary>Adds the eos/bos ids of a generation_config.json to <paramref name="config"/>.</summary>
    public static TokenizerConfig WithGenerationConfig(TokenizerConfig config, ReadOnlySpan<byte> json)
    {
        using JsonDocument doc = ParseDocument(json, "generation_config.json");
        JsonElement root = doc.RootElement;
        var eos = new List<int>();
        if (root.TryGetProperty("eos_token_id", out JsonElement e))
        {
            if (e.ValueKind == JsonValueKind.Number)
            {
                eos.Add(e.GetInt32());
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement id in e.EnumerateArray())
                {
                    eos.Add(id.GetInt32());
                }
            }
        }

        int? bos = root.TryGetProperty("bos_token_id", out JsonElement b) && b.ValueKind == JsonValueKind.Number ? b.GetInt32() : null;
        return config with { GenerationEosTokenIds = eos, GenerationBosTokenId = bos };
    }

    private static JsonDocument ParseDocument(ReadOnlySpan<byte> json, string name)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            throw new TokenizerLoadException($"{name} is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>A special token written as a string or as {"content": ...} (AddedToken form).</summary>
    private static string? ReadTokenText(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object => TokenizerJson.GetString(v, "content"),
            _ => null,
        };
    }

    private static bool? ReadOptionalBool(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A string, or a list of {name, template} of which "default" is taken.</summary>
    private static string? ReadChatTemplate(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out JsonElement v))
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.String)
        {
            return v.GetString();
        }

        if (v.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement entry in v.EnumerateArray())
            {
                if (TokenizerJson.GetString(entry, "name") == "default")
                {
                    return TokenizerJson.GetString(entry, "template");
                }
            }
        }

        return null;
    }
}
