using System.Text;
using System.Text.Json;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// The <c>decoder</c> of a tokenizer.json, reduced to what it does to each token (its output
/// bytes) plus how many leading spaces it strips from the whole text. That covers ByteLevel,
/// and SentencePiece-style sequences of Replace / ByteFallback / Fuse / Strip and Metaspace,
/// whose effect does not depend on the neighbouring tokens; it lets the incremental
/// detokenizer work on bytes instead of re-decoding the sequence.
/// </summary>
internal sealed class TokenDecoder
{
    private readonly List<(string From, string To)> _replacements = [];
    private bool _byteLevel;
    private bool _byteFallback;

    public int StripLeadingSpaces { get; private set; }

    public static TokenDecoder FromJson(JsonElement? element)
    {
        var decoder = new TokenDecoder();
        if (element is { ValueKind: JsonValueKind.Object } e)
        {
            decoder.Add(e);
        }

        return decoder;
    }

    public static TokenDecoder ByteLevel() => new() { _byteLevel = true };

    /// <summary>The UTF-8 bytes <paramref name="token"/> contributes to decoded text.</summary>
    public byte[] GetBytes(string token)
    {
        if (_byteLevel)
        {
            return ByteLevelAlphabet.Unmap(token);
        }

        if (_byteFallback && TryParseByteToken(token, out byte b))
        {
            return [b];
        }

        foreach ((string from, string to) in _replacements)
        {
            token = token.Replace(from, to, StringComparison.Ordinal);
        }

        return Encoding.UTF8.GetBytes(token);
    }

    private void Add(JsonElement e)
    {
        string type = TokenizerJson.GetString(e, "type") ?? throw new TokenizerLoadException("decoder without a type.");
        switch (type)
        {
            case "Sequence":
                foreach (JsonElement child in e.GetProperty("decoders").EnumerateArray())
                {
                    Add(child);
                }

                break;
            case "ByteLevel":
                _byteLevel = true;
                break;
            case "ByteFallback":
                _byteFallback = true;
                break;
            case "Fuse":
                // Joining tokens is what byte concatenation does anyway.
                break;
            case "Replace":
                {
                    JsonElement pattern = e.GetProperty("pattern");
                    string from = TokenizerJson.GetString(pattern, "String")
                        ?? throw new TokenizerLoadException("Only string patterns are supported in a Replace decoder.");
                    _replacements.Add((from, TokenizerJson.GetString(e, "content") ?? string.Empty));
                    break;
                }

            case "Strip":
                {
                    string content = TokenizerJson.GetString(e, "content") ?? " ";
                    if (content != " " || (e.TryGetProperty("stop", out JsonElement stop) && stop.GetInt32() != 0))
                    {
                        throw new TokenizerLoadException("Only a Strip decoder that removes leading spaces is supported.");
                    }

                    StripLeadingSpaces += e.TryGetProperty("start", out JsonElement start) ? start.GetInt32() : 0;
                    break;
                }

            case "Metaspace":
                {
                    string replacement = TokenizerJson.GetString(e, "replacement") ?? "▁";
                    _replacements.Add((replacement, " "));
                    string scheme = TokenizerJson.GetString(e, "prepend_scheme")
                        ?? (TokenizerJson.GetBool(e, "add_prefix_space", true) ? "always" : "never");
                    if (scheme != "never")
                    {
                        StripLeadingSpaces += 1;
                    }

                    break;
                }

            default:
                throw new TokenizerLoadException($"Unsupported decoder type '{type}'.");
        }
    }

    private static bool TryParseByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }
}
