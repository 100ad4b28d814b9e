using System.Text.Json;
using VllmSharp.Runtime.Loading.Gguf;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// Turns a Hugging Face byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json) into the GGUF
/// <c>tokenizer.ggml.*</c> form, as llama.cpp's convert_hf_to_gguf.py does for "gpt2" vocabularies: one token per
/// id (gaps filled with "[PAD{id}]" of type unused), added tokens that are special or look like &lt;|…|&gt; as
/// control tokens, other added tokens as user-defined, merges as "left right", special ids from the config (the
/// model's bos/eos ids where the tokenizer config has none), and the chat template.
/// </summary>
public static class GgufVocabularyExport
{
    /// <summary>The built-in Qwen tokenizer (<see cref="BuiltinTokenizer"/>) in GGUF form.</summary>
    public static GgufVocabulary Builtin(int? modelBosTokenId = null, IReadOnlyList<int>? modelEosTokenIds = null)
    {
        string dir = Path.Combine(Path.GetTempPath(), "vllmsharp-builtin-tokenizer-" + Guid.NewGuid().ToString("N"));
        try
        {
            BuiltinTokenizer.WriteTo(dir);
            return FromModelDir(dir, modelBosTokenId, modelEosTokenIds);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Reads the tokenizer files of an HF model folder.</summary>
    /// <param name="modelBosTokenId">config.json's bos_token_id, used when tokenizer_config.json names no bos token.</param>
    /// <param name="modelEosTokenIds">config.json's eos ids; one that differs from the tokenizer's eos becomes the end-of-turn id.</param>
    /// <exception cref="TokenizerLoadException">Missing files, or a tokenizer GGUF cannot hold (not byte-level BPE).</exception>
    public static GgufVocabulary FromModelDir(string modelDir, int? modelBosTokenId = null, IReadOnlyList<int>? modelEosTokenIds = null)
    {
        string path = Path.Combine(modelDir, "tokenizer.json");
        if (!File.Exists(path)) throw new TokenizerLoadException($"'{path}' not found: only tokenizer.json tokenizers can be written to GGUF.");
        TokenizerConfig config = TokenizerConfig.Load(modelDir);
        try
        {
            return FromTokenizerJson(File.ReadAllBytes(path), config, modelBosTokenId, modelEosTokenIds);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new TokenizerLoadException($"'{path}' is malformed: {e.Message}", e);
        }
    }

    public static GgufVocabulary FromTokenizerJson(ReadOnlySpan<byte> json, TokenizerConfig config, int? modelBosTokenId = null, IReadOnlyList<int>? modelEosTokenIds = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        using JsonDocument doc = JsonDocument.Parse(json.ToArray());
        JsonElement root = doc.RootElement;
        JsonElement model = root.GetProperty("model");
        if ((TokenizerJson.GetString(model, "type") ?? "BPE") != "BPE" || !root.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal))
            throw new TokenizerLoadException("only byte-level BPE tokenizers (GPT-2, Llama 3, Qwen style) can be written to GGUF");

        var byId = new Dictionary<int, (string Token, int Type)>();
        foreach (JsonProperty entry in model.GetProperty("vocab").EnumerateObject())
            byId[entry.Value.GetInt32()] = (entry.Name, GgufVocabulary.Normal);
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
            foreach (JsonElement t in added.EnumerateArray())
            {
                string content = t.GetProperty("content").GetString()!;
                bool special = TokenizerJson.GetBool(t, "special", false) || LooksSpecial(content);
                byId[t.GetProperty("id").GetInt32()] = (content, special ? GgufVocabulary.Control : GgufVocabulary.UserDefined);
            }
        int count = 0;
        foreach (int id in byId.Keys) count = Math.Max(count, id + 1);
        var tokens = new string[count];
        var types = new int[count];
        var ids = new Dictionary<string, int>(count, StringComparer.Ordinal);
        for (int id = 0; id < count; id++)
        {
            (tokens[id], types[id]) = byId.TryGetValue(id, out var t) ? t : ($"[PAD{id}]", GgufVocabulary.Unused);
            ids.TryAdd(tokens[id], id);
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out JsonElement m))
            foreach (JsonElement merge in m.EnumerateArray())
                merges.Add(merge.ValueKind == JsonValueKind.Array ? merge[0].GetString() + " " + merge[1].GetString() : merge.GetString()!);

        int? Id(string? token) => token is not null && ids.TryGetValue(token, out int id) ? id : null;
        int? eos = Id(config.EosToken) ?? (modelEosTokenIds is { Count: > 0 } e ? e[0] : null);
        int? eot = null;
        if (modelEosTokenIds is not null)
            foreach (int id in modelEosTokenIds)
                if (id != eos && id < count) { eot = id; break; }
        return new GgufVocabulary
        {
            Model = "gpt2",
            Pre = PreTokenizerName(root),
            Tokens = tokens,
            TokenTypes = types,
            Merges = [.. merges],
            BosTokenId = Id(config.BosToken) ?? config.GenerationBosTokenId ?? modelBosTokenId,
            EosTokenId = eos,
            EotTokenId = eot,
            PaddingTokenId = Id(config.PadToken),
            AddBosToken = config.AddBosToken ?? false,
            ChatTemplate = config.ChatTemplate,
        };
    }

    /// <summary>
    /// llama.cpp's pre-tokenizer name from the Split regex: digits one at a time is Qwen2's ("qwen2"), up to three
    /// at a time Llama 3's ("llama-bpe"), no Split GPT-2's ("gpt-2").
    /// </summary>
    private static string PreTokenizerName(JsonElement root)
    {
        string text = root.TryGetProperty("pre_tokenizer", out JsonElement pre) ? pre.GetRawText() : "";
        if (text.Contains(@"\\p{N}{1,3}", StringComparison.Ordinal)) return "llama-bpe";
        if (text.Contains(@"\\p{N}", StringComparison.Ordinal)) return "qwen2";
        return "gpt-2";
    }

    // convert_hf_to_gguf.py's does_token_look_special: <|...|> tokens are control tokens even when not marked special.
    private static bool LooksSpecial(string token) =>
        token is "<pad>" or "<mask>" || (token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal));
}
