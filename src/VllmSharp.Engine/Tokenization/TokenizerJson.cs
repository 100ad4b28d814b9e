using System.Text.Json;
using System.Text.RegularExpressions;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// Reads the parts of a Hugging Face tokenizer.json (format "1.0") that encoding and decoding
/// need: the BPE model, added tokens, post-processor special tokens, plus small JSON helpers the
/// normalizer / pre-tokenizer / decoder readers share.
/// </summary>
internal static class TokenizerJson
{
    public static string? GetString(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool GetBool(JsonElement e, string name, bool defaultValue) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : defaultValue;

    public static JsonElement? GetObject(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Object ? v : null;

    /// <summary>A <c>pattern</c> of {"String": s} (literal) or {"Regex": r} (Oniguruma syntax, which .NET reads the same for these patterns).</summary>
    public static Regex GetPattern(JsonElement e)
    {
        JsonElement pattern = e.GetProperty("pattern");
        if (GetString(pattern, "String") is string literal)
        {
            return new Regex(Regex.Escape(literal), RegexOptions.CultureInvariant);
        }

        if (GetString(pattern, "Regex") is string regex)
        {
            return new Regex(regex, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }

        throw new TokenizerLoadException("pattern is neither {String} nor {Regex}.");
    }

    public static BpeModel ReadModel(JsonElement model)
    {
        string type = GetString(model, "type") ?? "BPE";
        if (type != "BPE")
        {
            throw new TokenizerLoadException($"Unsupported tokenizer model type '{type}' (only BPE is supported).");
        }

        JsonElement vocabElement = model.GetProperty("vocab");
        var vocab = new Dictionary<string, int>(vocabElement.GetPropertyCount(), StringComparer.Ordinal);
        foreach (JsonProperty entry in vocabElement.EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.GetInt32();
        }

        var merges = new List<(string, string)>();
        if (model.TryGetProperty("merges", out JsonElement mergesElement))
        {
            merges.Capacity = mergesElement.GetArrayLength();
            foreach (JsonElement merge in mergesElement.EnumerateArray())
            {
                merges.Add(merge.ValueKind == JsonValueKind.Array
                    ? (merge[0].GetString()!, merge[1].GetString()!)
                    : SplitMergeLine(merge.GetString()!));
            }
        }

        return new BpeModel(
            vocab,
            merges,
            GetString(model, "unk_token"),
            GetBool(model, "fuse_unk", false),
            GetBool(model, "byte_fallback", false),
            GetBool(model, "ignore_merges", false),
            GetString(model, "continuing_subword_prefix"),
            GetString(model, "end_of_word_suffix"));
    }

    /// <summary>Splits a "left right" merge line (old tokenizer.json and merges.txt format).</summary>
    public static (string Left, string Right) SplitMergeLine(string line)
    {
        int space = line.IndexOf(' ', 1);
        if (space < 0)
        {
            throw new TokenizerLoadException($"Malformed merge '{line}'.");
        }

        return (line[..space], line[(space + 1)..]);
    }

    public static List<AddedToken> ReadAddedTokens(JsonElement root)
    {
        var tokens = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out JsonElement array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement t in array.EnumerateArray())
            {
                tokens.Add(ReadAddedToken(t.GetProperty("id").GetInt32(), t));
            }
        }

        return tokens;
    }

    public static AddedToken ReadAddedToken(int id, JsonElement t) => new(
        id,
        GetString(t, "content") ?? throw new TokenizerLoadException($"added token {id} has no content."),
        GetBool(t, "special", false),
        GetBool(t, "lstrip", false),
        GetBool(t, "rstrip", false),
        GetBool(t, "single_word", false),
        GetBool(t, "normalized", false));

    /// <summary>
    /// The ids a post-processor puts before and after a single sequence (TemplateProcessing,
    /// RobertaProcessing, BertProcessing, Sequence of those; ByteLevel adds none).
    /// </summary>
    public static (List<int> Prefix, List<int> Suffix) ReadPostProcessor(JsonElement? element, Func<string, int?> tokenToId)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (element is { ValueKind: JsonValueKind.Object } e)
        {
            AddPostProcessor(e, tokenToId, prefix, suffix);
        }

        return (prefix, suffix);
    }

    private static void AddPostProcessor(JsonElement e, Func<string, int?> tokenToId, List<int> prefix, List<int> suffix)
    {
        switch (GetString(e, "type"))
        {
            case "Sequence":
                foreach (JsonElement child in e.GetProperty("processors").EnumerateArray())
                {
                    AddPostProcessor(child, tokenToId, prefix, suffix);
                }

                break;
            case "TemplateProcessing":
                {
                    bool afterSequence = false;
                    foreach (JsonElement item in e.GetProperty("single").EnumerateArray())
                    {
                        if (item.TryGetProperty("Sequence", out _))
                        {
                            afterSequence = true;
                        }
                        else if (item.TryGetProperty("SpecialToken", out JsonElement special))
                        {
                            string name = GetString(special, "id")!;
                            List<int> target = afterSequence ? suffix : prefix;
                            JsonElement map = e.GetProperty("special_tokens");
                            if (map.TryGetProperty(name, out JsonElement entry) && entry.TryGetProperty("ids", out JsonElement ids))
                            {
                                foreach (JsonElement id in ids.EnumerateArray())
                                {
                                    target.Add(id.GetInt32());
                                }
                            }
                            else
                            {
                                target.Add(tokenToId(name) ?? throw new TokenizerLoadException($"post_processor token '{name}' is not in the vocabulary."));
                            }
                        }
                    }

                    break;
                }

            case "RobertaProcessing":
            case "BertProcessing":
                prefix.Add(e.GetProperty("cls")[1].GetInt32());
                suffix.Add(e.GetProperty("sep")[1].GetInt32());
                break;
            case "ByteLevel":
            case null:
                break;
            case string other:
                throw new TokenizerLoadException($"Unsupported post_processor type '{other}'.");
        }
    }
}
