using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// The <c>normalizer</c> of a tokenizer.json: a flat list of steps (NFC/NFD/NFKC/NFKD, Replace,
/// Prepend, Lowercase, Strip; Sequence is flattened) applied to each piece of text between
/// added tokens.
/// </summary>
internal sealed class TextNormalizer
{
    private readonly List<Func<string, string>> _steps = [];

    public static TextNormalizer FromJson(JsonElement? element)
    {
        var normalizer = new TextNormalizer();
        if (element is { ValueKind: JsonValueKind.Object } e)
        {
            normalizer.Add(e);
        }

        return normalizer;
    }

    public bool IsIdentity => _steps.Count == 0;

    public string Normalize(string text)
    {
        foreach (Func<string, string> step in _steps)
        {
            text = step(text);
        }

        return text;
    }

    /// <summary>
    /// Compatibility forms have no table of ours; under InvariantGlobalization .NET leaves text
    /// unchanged, which would silently mis-tokenize, so refuse instead.
    /// </summary>
    private static void RequireIcuNormalization(string type)
    {
        if ("\uFB01".Normalize(NormalizationForm.FormKC) != "fi")
        {
            throw new TokenizerLoadException($"The {type} normalizer needs ICU, which this process runs without (InvariantGlobalization).");
        }
    }

    private void Add(JsonElement e)
    {
        string type = TokenizerJson.GetString(e, "type") ?? throw new TokenizerLoadException("normalizer without a type.");
        switch (type)
        {
            case "Sequence":
                foreach (JsonElement child in e.GetProperty("normalizers").EnumerateArray())
                {
                    Add(child);
                }

                break;
            case "NFC":
                _steps.Add(UnicodeNfc.Normalize);
                break;
            case "NFD":
                _steps.Add(UnicodeNfc.Decompose);
                break;
            case "NFKC":
                RequireIcuNormalization(type);
                _steps.Add(static s => s.Normalize(NormalizationForm.FormKC));
                break;
            case "NFKD":
                RequireIcuNormalization(type);
                _steps.Add(static s => s.Normalize(NormalizationForm.FormKD));
                break;
            case "Lowercase":
                _steps.Add(static s => s.ToLowerInvariant());
                break;
            case "Replace":
                {
                    Regex pattern = TokenizerJson.GetPattern(e);
                    string content = TokenizerJson.GetString(e, "content") ?? string.Empty;
                    _steps.Add(s => pattern.Replace(s, content));
                    break;
                }

            case "Prepend":
                {
                    // Hugging Face prepends only to non-empty text.
                    string prepend = TokenizerJson.GetString(e, "prepend") ?? string.Empty;
                    _steps.Add(s => s.Length == 0 ? s : prepend + s);
                    break;
                }

            case "Strip":
                {
                    bool left = TokenizerJson.GetBool(e, "strip_left", true);
                    bool right = TokenizerJson.GetBool(e, "strip_right", true);
                    _steps.Add(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
                    break;
                }

            default:
                throw new TokenizerLoadException($"Unsupported normalizer type '{type}'.");
        }
    }
}
