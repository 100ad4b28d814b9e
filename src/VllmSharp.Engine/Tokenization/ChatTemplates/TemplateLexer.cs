using System.Text;
using System.Text.RegularExpressions;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// Splits a template into tokens the way @huggingface/jinja does (the reference we must match
/// byte for byte): the source is first preprocessed (one trailing newline dropped, HF's
/// lstrip_blocks/trim_blocks applied as regexes, <c>{% generation %}</c> tags removed), then
/// text, tags and expression tokens are read with <c>{%-</c>/<c>-%}</c> whitespace control.
/// </summary>
internal static partial class TemplateLexer
{
    private static readonly (string Seq, TokenKind Kind)[] s_symbols =
    [
        ("{%", TokenKind.OpenStatement), ("%}", TokenKind.CloseStatement),
        ("{{", TokenKind.OpenExpression), ("}}", TokenKind.CloseExpression),
        ("(", TokenKind.OpenParen), (")", TokenKind.CloseParen),
        ("{", TokenKind.OpenCurly), ("}", TokenKind.CloseCurly),
        ("[", TokenKind.OpenSquare), ("]", TokenKind.CloseSquare),
        (",", TokenKind.Comma), (".", TokenKind.Dot), (":", TokenKind.Colon), ("|", TokenKind.Pipe),
        ("<=", TokenKind.Comparison), (">=", TokenKind.Comparison), ("==", TokenKind.Comparison),
        ("!=", TokenKind.Comparison), ("<", TokenKind.Comparison), (">", TokenKind.Comparison),
        ("+", TokenKind.Additive), ("-", TokenKind.Additive), ("~", TokenKind.Additive),
        ("**", TokenKind.Power), ("*", TokenKind.Multiplicative), ("//", TokenKind.Multiplicative),
        ("/", TokenKind.Multiplicative), ("%", TokenKind.Multiplicative), ("=", TokenKind.Equals),
    ];

    [GeneratedRegex(@"^[ \t]*(\{[#%-])", RegexOptions.Multiline)]
    private static partial Regex LstripBlocks();

    [GeneratedRegex(@"([#%-]\})\n")]
    private static partial Regex TrimBlocks();

    [GeneratedRegex(@"(\s*)\{%(-?)\s*(?:end)?generation\s*(-?)%\}(\s*)", RegexOptions.Singleline)]
    private static partial Regex GenerationTag();

    /// <summary>HF's preprocessing; HF renders chat templates with trim_blocks and lstrip_blocks on.</summary>
    public static string Preprocess(string template)
    {
        if (template.EndsWith('\n'))
        {
            template = template[..^1];
        }

        template = LstripBlocks().Replace(template, "$1");
        template = TrimBlocks().Replace(template, "$1");
        return GenerationTag().Replace(template, m =>
            (m.Groups[2].Length > 0 ? string.Empty : m.Groups[1].Value) + (m.Groups[3].Length > 0 ? string.Empty : m.Groups[4].Value));
    }

    /// <summary>
    /// Preprocesses and tokenizes <paramref name="original"/>; token offsets (and error positions)
    /// refer to <paramref name="original"/>, not to the preprocessed text.
    /// </summary>
    public static List<TemplateToken> Tokenize(string original)
    {
        string src = Preprocess(original);
        int[] map = AlignOffsets(original, src);
        List<TemplateToken> tokens;
        try
        {
            tokens = TokenizePreprocessed(src);
        }
        catch (LexError error)
        {
            throw new ChatTemplateException($"Chat template syntax error at {Where(original, map[Math.Min(error.Offset, src.Length)])}: {error.What}.");
        }

        for (int i = 0; i < tokens.Count; i++)
        {
            tokens[i] = tokens[i] with { Offset = map[tokens[i].Offset] };
        }

        return tokens;
    }

    private sealed class LexError(int offset, string what) : Exception(what)
    {
        public int Offset { get; } = offset;

        public string What { get; } = what;
    }

    // Preprocessing only deletes characters, so the preprocessed text is a subsequence of the
    // original; the earliest embedding maps each position back (exact up to which of several
    // equal whitespace characters was deleted, which does not change the reported line).
    private static int[] AlignOffsets(string original, string preprocessed)
    {
        var map = new int[preprocessed.Length + 1];
        int j = 0;
        for (int i = 0; i < preprocessed.Length; i++)
        {
            while (j < original.Length && original[j] != preprocessed[i])
            {
                j++;
            }

            map[i] = Math.Min(j, original.Length);
            j++;
        }

        map[preprocessed.Length] = original.Length;
        return map;
    }

    private static List<TemplateToken> TokenizePreprocessed(string src)
    {
        var tokens = new List<TemplateToken>();
        int pos = 0;
        int curlyDepth = 0;
        while (pos < src.Length)
        {
            TokenKind? last = tokens.Count == 0 ? null : tokens[^1].Kind;
            if (last is null or TokenKind.CloseStatement or TokenKind.CloseExpression or TokenKind.Comment)
            {
                int start = pos;
                while (pos < src.Length && !(src[pos] == '{' && pos + 1 < src.Length && src[pos + 1] is '%' or '{' or '#'))
                {
                    pos++;
                }

                if (pos > start)
                {
                    tokens.Add(new(TokenKind.Text, src[start..pos], start));
                    continue;
                }
            }

            if (At(src, pos, "{#"))
            {
                int start = pos;
                pos += 2;
                bool stripBefore = pos < src.Length && src[pos] == '-';
                if (stripBefore)
                {
                    pos++;
                }

                int end = src.IndexOf("#}", pos, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw Error(src, start, "missing end of comment tag '#}'");
                }

                string comment = src[pos..end];
                bool stripAfter = comment.EndsWith('-');
                if (stripBefore)
                {
                    StripTrailingWhitespace(tokens);
                }

                tokens.Add(new(TokenKind.Comment, comment, start));
                pos = end + 2;
                if (stripAfter)
                {
                    pos = SkipWhitespace(src, pos);
                }

                continue;
            }

            if (At(src, pos, "{%-") || At(src, pos, "{{-"))
            {
                StripTrailingWhitespace(tokens);
                bool statement = src[pos + 1] == '%';
                tokens.Add(new(statement ? TokenKind.OpenStatement : TokenKind.OpenExpression, statement ? "{%" : "{{", pos));
                curlyDepth = 0;
                pos += 3;
                continue;
            }

            pos = SkipWhitespace(src, pos);
            if (pos >= src.Length)
            {
                break;
            }

            if (At(src, pos, "-%}") || At(src, pos, "-}}"))
            {
                bool statement = src[pos + 1] == '%';
                tokens.Add(new(statement ? TokenKind.CloseStatement : TokenKind.CloseExpression, statement ? "%}" : "}}", pos));
                pos = SkipWhitespace(src, pos + 3);
                continue;
            }

            char c = src[pos];
            if (c is '-' or '+')
            {
                TokenKind? prev = tokens.Count == 0 ? null : tokens[^1].Kind;
                if (prev is null or TokenKind.Text)
                {
                    throw Error(src, pos, $"unexpected character '{c}'");
                }

                if (prev is not (TokenKind.Identifier or TokenKind.Number or TokenKind.String or TokenKind.CloseParen or TokenKind.CloseSquare))
                {
                    // A sign after an operator: HF lexes "-1" as one negative literal.
                    int start = pos++;
                    int digits = pos;
                    while (pos < src.Length && char.IsAsciiDigit(src[pos]))
                    {
                        pos++;
                    }

                    if (pos > digits && pos + 1 < src.Length && src[pos] == '.' && char.IsAsciiDigit(src[pos + 1]))
                    {
                        pos++;
                        while (pos < src.Length && char.IsAsciiDigit(src[pos]))
                        {
                            pos++;
                        }
                    }

                    tokens.Add(pos > digits ? new(TokenKind.Number, src[start..pos], start) : new(TokenKind.UnarySign, c.ToString(), start));
                    continue;
                }
            }

            bool matched = false;
            foreach ((string seq, TokenKind kind) in s_symbols)
            {
                if ((seq == "}}" && curlyDepth > 0) || !At(src, pos, seq))
                {
                    continue;
                }

                tokens.Add(new(kind, seq, pos));
                curlyDepth = kind switch
                {
                    TokenKind.OpenExpression => 0,
                    TokenKind.OpenCurly => curlyDepth + 1,
                    TokenKind.CloseCurly => curlyDepth - 1,
                    _ => curlyDepth,
                };
                pos += seq.Length;
                matched = true;
                break;
            }

            if (matched)
            {
                continue;
            }

            if (c is '\'' or '"')
            {
                int start = pos;
                tokens.Add(new(TokenKind.String, ReadString(src, ref pos, c), start));
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                int start = pos;
                while (pos < src.Length && char.IsAsciiDigit(src[pos]))
                {
                    pos++;
                }

                if (tokens.Count > 0 && tokens[^1].Kind != TokenKind.Dot && pos + 1 < src.Length && src[pos] == '.' && char.IsAsciiDigit(src[pos + 1]))
                {
                    pos++;
                    while (pos < src.Length && char.IsAsciiDigit(src[pos]))
                    {
                        pos++;
                    }
                }

                tokens.Add(new(TokenKind.Number, src[start..pos], start));
                continue;
            }

            if (IsWord(c))
            {
                int start = pos;
                while (pos < src.Length && IsWord(src[pos]))
                {
                    pos++;
                }

                tokens.Add(new(TokenKind.Identifier, src[start..pos], start));
                continue;
            }

            throw Error(src, pos, $"unexpected character '{c}'");
        }

        return tokens;
    }

    /// <summary>Line and column (1-based) of an offset, for error messages.</summary>
    public static string Where(string src, int offset)
    {
        int line = 1;
        int column = 1;
        for (int i = 0; i < offset && i < src.Length; i++)
        {
            if (src[i] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        return $"line {line}, column {column}";
    }

    private static LexError Error(string src, int offset, string what) => new(Math.Min(offset, src.Length), what);

    private static string ReadString(string src, ref int pos, char quote)
    {
        int start = pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= src.Length)
            {
                throw Error(src, start, "unterminated string literal");
            }

            char c = src[pos++];
            if (c == quote)
            {
                return sb.ToString();
            }

            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            if (pos >= src.Length)
            {
                throw Error(src, start, "unterminated string literal");
            }

            char e = src[pos++];
            if (e is 'x' or 'u')
            {
                int len = e == 'x' ? 2 : 4;
                if (pos + len > src.Length || !int.TryParse(src.AsSpan(pos, len), System.Globalization.NumberStyles.HexNumber, null, out int code))
                {
                    throw Error(src, pos, $"invalid escape sequence '\\{e}'");
                }

                sb.Append((char)code);
                pos += len;
                continue;
            }

            sb.Append(e switch
            {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'b' => '\b',
                'f' => '\f',
                'v' => '\v',
                '\'' or '"' or '\\' => e,
                _ => throw Error(src, pos - 2, $"unsupported escape sequence '\\{e}'"),
            });
        }
    }

    // JavaScript's /\w/ (ASCII word characters) — identifiers in HF are ASCII-only.
    private static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    // JavaScript's /\s/, which is what trimEnd() and HF's whitespace skipping use.
    internal static bool IsJsWhitespace(char c) => c is '\uFEFF' || char.IsWhiteSpace(c) && c is not '\u0085' and not '\u180E';

    private static int SkipWhitespace(string src, int pos)
    {
        while (pos < src.Length && IsJsWhitespace(src[pos]))
        {
            pos++;
        }

        return pos;
    }

    private static void StripTrailingWhitespace(List<TemplateToken> tokens)
    {
        if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Text)
        {
            return;
        }

        string text = tokens[^1].Value;
        int end = text.Length;
        while (end > 0 && IsJsWhitespace(text[end - 1]))
        {
            end--;
        }

        if (end == 0)
        {
            tokens.RemoveAt(tokens.Count - 1);
        }
        else
        {
            tokens[^1] = tokens[^1] with { Value = text[..end] };
        }
    }

    private static bool At(string src, int pos, string seq) => string.CompareOrdinal(src, pos, seq, 0, seq.Length) == 0 && pos + seq.Length <= src.Length;
}
