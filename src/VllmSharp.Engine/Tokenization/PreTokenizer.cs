using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// The <c>pre_tokenizer</c> of a tokenizer.json: Split (regex or string, all five behaviours,
/// invert), ByteLevel (optional GPT-2 regex, prefix space, byte → character mapping), Metaspace and
/// Sequence. Splits normalized text into the pre-tokens the BPE model encodes one by one.
/// </summary>
internal sealed class PreTokenizer
{
    /// <summary>GPT-2's pre-tokenization regex, used by ByteLevel when <c>use_regex</c> is true.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly List<Action<string, bool, List<string>>> _steps = [];

    public static PreTokenizer FromJson(JsonElement? element)
    {
        var preTokenizer = new PreTokenizer();
        if (element is { ValueKind: JsonValueKind.Object } e)
        {
            preTokenizer.Add(e);
        }

        return preTokenizer;
    }

    /// <summary>A GPT-2 style ByteLevel pre-tokenizer (vocab.json + merges.txt folders).</summary>
    public static PreTokenizer ByteLevel(bool addPrefixSpace, bool useRegex)
    {
        var preTokenizer = new PreTokenizer();
        preTokenizer.AddByteLevel(addPrefixSpace, useRegex);
        return preTokenizer;
    }

    /// <summary>True when a ByteLevel step maps text to the byte-level alphabet.</summary>
    public bool IsByteLevel { get; private set; }

    /// <summary>
    /// Appends the pre-tokens of <paramref name="text"/> to <paramref name="output"/>;
    /// <paramref name="atTextStart"/> tells Metaspace's "first" scheme whether this piece begins the input.
    /// </summary>
    public void Split(string text, bool atTextStart, List<string> output)
    {
        if (_steps.Count == 0)
        {
            if (text.Length > 0)
            {
                output.Add(text);
            }

            return;
        }

        var pieces = new List<string> { text };
        for (int s = 0; s < _steps.Count; s++)
        {
            var nextPieces = s == _steps.Count - 1 ? output : new List<string>(pieces.Count * 2);
            for (int p = 0; p < pieces.Count; p++)
            {
                _steps[s](pieces[p], atTextStart && p == 0, nextPieces);
            }

            pieces = nextPieces;
        }
    }

    private void Add(JsonElement e)
    {
        string type = TokenizerJson.GetString(e, "type") ?? throw new TokenizerLoadException("pre_tokenizer without a type.");
        switch (type)
        {
            case "Sequence":
                foreach (JsonElement child in e.GetProperty("pretokenizers").EnumerateArray())
                {
                    Add(child);
                }

                break;
            case "Split":
                {
                    Regex pattern = TokenizerJson.GetPattern(e);
                    string behaviorName = TokenizerJson.GetString(e, "behavior") ?? "Isolated";
                    if (!Enum.TryParse(behaviorName, out SplitBehavior behavior))
                    {
                        throw new TokenizerLoadException($"Unsupported Split behavior '{behaviorName}'.");
                    }

                    bool invert = TokenizerJson.GetBool(e, "invert", false);
                    _steps.Add((piece, _, output) => SplitByPattern(piece, pattern, behavior, invert, output));
                    break;
                }

            case "ByteLevel":
                AddByteLevel(TokenizerJson.GetBool(e, "add_prefix_space", false), TokenizerJson.GetBool(e, "use_regex", true));
                break;
            case "Metaspace":
                AddMetaspace(e);
                break;
            default:
                throw new TokenizerLoadException($"Unsupported pre_tokenizer type '{type}'.");
        }
    }

    private void AddByteLevel(bool addPrefixSpace, bool useRegex)
    {
        IsByteLevel = true;
        Regex? gpt2 = useRegex ? new Regex(Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant) : null;
        _steps.Add((piece, _, output) =>
        {
            if (addPrefixSpace && !piece.StartsWith(' '))
            {
                piece = " " + piece;
            }

            if (gpt2 is null)
            {
                if (piece.Length > 0)
                {
                    output.Add(ByteLevelAlphabet.Map(piece));
                }

                return;
            }

            var split = new List<string>();
            SplitByPattern(piece, gpt2, SplitBehavior.Isolated, false, split);
            foreach (string part in split)
            {
                output.Add(ByteLevelAlphabet.Map(part));
            }
        });
    }

    private void AddMetaspace(JsonElement e)
    {
        string replacement = TokenizerJson.GetString(e, "replacement") ?? "▁";
        string scheme = TokenizerJson.GetString(e, "prepend_scheme")
            ?? (TokenizerJson.GetBool(e, "add_prefix_space", true) ? "always" : "never");
        bool split = TokenizerJson.GetBool(e, "split", true);
        var delimiter = new Regex(Regex.Escape(replacement), RegexOptions.CultureInvariant);
        _steps.Add((piece, atTextStart, output) =>
        {
            piece = piece.Replace(" ", replacement, StringComparison.Ordinal);
            bool prepend = scheme == "always" || (scheme == "first" && atTextStart);
            if (prepend && piece.Length > 0 && !piece.StartsWith(replacement, StringComparison.Ordinal))
            {
                piece = replacement + piece;
            }

            if (split)
            {
                SplitByPattern(piece, delimiter, SplitBehavior.MergedWithNext, false, output);
            }
            else if (piece.Length > 0)
            {
                output.Add(piece);
            }
        });
    }

    internal static void SplitByPattern(string text, Regex pattern, SplitBehavior behavior, bool invert, List<string> output)
    {
        if (text.Length == 0)
        {
            return;
        }

        // .NET matches UTF-16 units, so an astral letter or digit (𝐀, 𝟏, 𠜎) would be two
        // surrogates (category Cs) to \p{L}/\p{N}; Hugging Face and JS match code points. Run the
        // regex on a copy where each such code point is one BMP stand-in of the same category.
        int[]? offsets = null;
        string subject = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDBFF') >= 0 ? SubstituteAstral(text, out offsets) : text;

        // Segments covering the text: (start, end, isDelimiter).
        var segments = new List<(int Start, int End, bool IsMatch)>();
        int position = 0;
        for (Match m = pattern.Match(subject); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0)
            {
                continue;
            }

            int start = offsets?[m.Index] ?? m.Index;
            int end = offsets?[m.Index + m.Length] ?? m.Index + m.Length;
            if (start > position)
            {
                segments.Add((position, start, invert));
            }

            segments.Add((start, end, !invert));
            position = end;
        }

        if (position < text.Length)
        {
            segments.Add((position, text.Length, invert));
        }

        int current = 0;
        switch (behavior)
        {
            case SplitBehavior.Removed:
                foreach (var s in segments)
                {
                    if (!s.IsMatch)
                    {
                        output.Add(text[s.Start..s.End]);
                    }
                }

                return;
            case SplitBehavior.Isolated:
                foreach (var s in segments)
                {
                    output.Add(text[s.Start..s.End]);
                }

                return;
            case SplitBehavior.MergedWithPrevious:
                foreach (var s in segments)
                {
                    if (s.IsMatch)
                    {
                        output.Add(text[current..s.End]);
                        current = s.End;
                    }
                }

                break;
            case SplitBehavior.MergedWithNext:
                foreach (var s in segments)
                {
                    if (s.IsMatch && s.Start > current)
                    {
                        output.Add(text[current..s.Start]);
                        current = s.Start;
                    }
                }

                break;
            case SplitBehavior.Contiguous:
                for (int i = 0; i < segments.Count; i++)
                {
                    int end = segments[i].End;
                    while (segments[i].IsMatch && i + 1 < segments.Count && segments[i + 1].IsMatch)
                    {
                        end = segments[++i].End;
                    }

                    output.Add(text[current..end]);
                    current = end;
                }

                break;
        }

        if (current < text.Length)
        {
            output.Add(text[current..]);
        }
    }

    /// <summary>
    /// Replaces each astral letter/number/mark by a BMP character of the same general category;
    /// <paramref name="offsets"/>[i] is the index in <paramref name="text"/> of substituted char i
    /// (with one extra entry for the end).
    /// </summary>
    private static string SubstituteAstral(string text, out int[] offsets)
    {
        var builder = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                char standIn = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                if (standIn != '\0')
                {
                    builder.Append(standIn);
                    i++;
                    continue;
                }

                // Other astral code points (emoji, symbols) stay two surrogates: like the
                // symbol they are, they match [^\s\p{L}\p{N}].
                builder.Append(text[i]);
                map.Add(i + 1);
                builder.Append(text[++i]);
                continue;
            }

            builder.Append(text[i]);
        }

        map.Add(text.Length);
        offsets = [.. map];
        return builder.ToString();
    }

    private static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u0181',
        UnicodeCategory.LowercaseLetter => '\u0180',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u01BB',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        _ => '\0',
    };
}
