using System.Globalization;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Parses the regex subset that users and JSON-schema patterns need into a <see cref="RegexNode"/>: literals,
/// escapes (\n \t \r \f \v \0 \xHH \uHHHH \u{H…}), classes [...] with ranges and negation, \d \w \s and their
/// negations (ASCII meanings, as ECMAScript), '.', ? * + {m} {m,} {m,n} (lazy/possessive suffixes accepted: they do
/// not change the language), | and groups ( ), (?: ), (?&lt;name&gt; ). ^ and $ are accepted only at the ends.
/// Backreferences and lookaround are rejected with <see cref="StructuredOutputException"/>.
/// </summary>
internal sealed class RegexParser
{
    private static readonly int[] s_digit = [0x30, 0x39];
    private static readonly int[] s_word = [0x30, 0x39, 0x41, 0x5A, 0x5F, 0x5F, 0x61, 0x7A];
    private static readonly int[] s_space = [0x09, 0x0D, 0x20, 0x20];
    private static readonly int[] s_newline = [0x0A, 0x0A];
    private const int MaxRepeat = 1000;

    private readonly string _pattern;
    private int _pos;

    private RegexParser(string pattern) => _pattern = pattern;

    /// <summary>Whether the pattern began with ^ / ended with $ (JSON Schema patterns are unanchored otherwise).</summary>
    public bool AnchoredStart { get; private set; }
    public bool AnchoredEnd { get; private set; }

    /// <summary>Parses a pattern that must match the whole text (anchors, if any, are redundant).</summary>
    public static RegexNode ParseFullMatch(string pattern) => new RegexParser(pattern).ParseAll();

    /// <summary>
    /// Parses a JSON Schema <c>pattern</c>: a search, so an unanchored end gets ".*" (any characters, including
    /// newlines) added there.
    /// </summary>
    public static RegexNode ParseSearch(string pattern)
    {
        var parser = new RegexParser(pattern);
        RegexNode body = parser.ParseAll();
        RegexNode any = RegexNode.Repeat(RegexNode.Chars([0, CodePointSet.MaxCodePoint]), 0, RegexNode.Unbounded);
        return RegexNode.Concat(parser.AnchoredStart ? RegexNode.Empty : any, body, parser.AnchoredEnd ? RegexNode.Empty : any);
    }

    private RegexNode ParseAll()
    {
        if (Peek() == '^') { _pos++; AnchoredStart = true; }
        RegexNode node = ParseAlternation();
        if (_pos < _pattern.Length) throw Error(_pattern[_pos] == ')' ? "unbalanced ')'" : $"unexpected '{_pattern[_pos]}'");
        return node;
    }

    private RegexNode ParseAlternation()
    {
        var options = new List<RegexNode> { ParseSequence() };
        while (Peek() == '|')
        {
            _pos++;
            options.Add(ParseSequence());
        }
        return options.Count == 1 ? options[0] : RegexNode.Alt([.. options]);
    }

    private RegexNode ParseSequence()
    {
        var parts = new List<RegexNode>();
        while (_pos < _pattern.Length && Peek() is not ('|' or ')'))
        {
            if (Peek() == '$')
            {
                _pos++;
                if (_pos == _pattern.Length) { AnchoredEnd = true; break; }
                throw Error("'$' is only supported at the end of the pattern");
            }
            if (Peek() == '^') throw Error("'^' is only supported at the start of the pattern");
            RegexNode atom = ParseAtom();
            parts.Add(ParseQuantifiers(atom));
        }
        return RegexNode.Concat([.. parts]);
    }

    private RegexNode ParseQuantifiers(RegexNode atom)
    {
        while (_pos < _pattern.Length)
        {
            char c = _pattern[_pos];
            int min, max;
            if (c == '?') { min = 0; max = 1; _pos++; }
            else if (c == '*') { min = 0; max = RegexNode.Unbounded; _pos++; }
            else if (c == '+') { min = 1; max = RegexNode.Unbounded; _pos++; }
            else if (c == '{' && TryParseBraces(out min, out max)) { }
            else break;
            if (Peek() is '?' or '+') _pos++; // lazy / possessive: same language
            atom = RegexNode.Repeat(atom, min, max);
        }
        return atom;
    }

    private bool TryParseBraces(out int min, out int max)
    {
        int start = _pos;
        min = max = 0;
        _pos++;
        if (!TryNumber(out min)) { _pos = start; return false; }
        if (Peek() == '}') { _pos++; max = min; }
        else if (Peek() == ',')
        {
            _pos++;
            if (Peek() == '}') { _pos++; max = RegexNode.Unbounded; }
            else if (TryNumber(out max) && Peek() == '}') _pos++;
            else { _pos = start; return false; }
        }
        else { _pos = start; return false; }
        if (min > MaxRepeat || max > MaxRepeat) throw Error($"repetition counts above {MaxRepeat} are not supported");
        if (max != RegexNode.Unbounded && max < min) throw Error($"repetition {{{min},{max}}} has max < min");
        return true;
    }

    private bool TryNumber(out int value)
    {
        int start = _pos;
        while (_pos < _pattern.Length && char.IsAsciiDigit(_pattern[_pos])) _pos++;
        if (_pos == start || _pos - start > 6) { value = 0; return false; }
        value = int.Parse(_pattern.AsSpan(start, _pos - start), CultureInfo.InvariantCulture);
        return true;
    }

    private RegexNode ParseAtom()
    {
        char c = _pattern[_pos];
        switch (c)
        {
            case '(':
                _pos++;
                if (Peek() == '?')
                {
                    _pos++;
                    char kind = Peek();
                    if (kind == ':') _pos++;
                    else if (kind == '<' && _pos + 1 < _pattern.Length && _pattern[_pos + 1] is not ('=' or '!'))
                    {
                        int close = _pattern.IndexOf('>', _pos);
                        if (close < 0) throw Error("unterminated group name");
                        _pos = close + 1;
                    }
                    else if (kind == 'P' && _pos + 1 < _pattern.Length && _pattern[_pos + 1] == '<')
                    {
                        int close = _pattern.IndexOf('>', _pos);
                        if (close < 0) throw Error("unterminated group name");
                        _pos = close + 1;
                    }
                    else throw Error("lookaround and inline options are not supported");
                }
                RegexNode inner = ParseAlternation();
                if (Peek() != ')') throw Error("missing ')'");
                _pos++;
                return inner;
            case '[':
                return RegexNode.Chars(ParseClass());
            case '.':
                _pos++;
                return RegexNode.Chars(CodePointSet.Complement(s_newline));
            case '\\':
                return ParseEscapeAtom();
            case '*' or '+' or '?':
                throw Error($"nothing to repeat before '{c}'");
            default:
                return RegexNode.Char(NextCodePoint());
        }
    }

    private RegexNode ParseEscapeAtom()
    {
        _pos++;
        if (_pos >= _pattern.Length) throw Error("trailing backslash");
        char c = _pattern[_pos];
        if (char.IsAsciiDigit(c) && c != '0') throw Error("backreferences are not supported");
        if (c is 'b' or 'B' or 'A' or 'z' or 'Z' or 'G') throw Error($"the assertion \\{c} is not supported");
        int[]? cls = ClassEscape(c);
        if (cls is not null) { _pos++; return RegexNode.Chars(cls); }
        return RegexNode.Char(EscapedCodePoint());
    }

    /// <summary>\d \w \s and negations, or null when <paramref name="c"/> is not one.</summary>
    private static int[]? ClassEscape(char c) => c switch
    {
        'd' => s_digit,
        'D' => CodePointSet.Complement(s_digit),
        'w' => s_word,
        'W' => CodePointSet.Complement(s_word),
        's' => CodePointSet.Normalize(s_space),
        'S' => CodePointSet.Complement(CodePointSet.Normalize(s_space)),
        _ => null,
    };

    // At the character after the backslash; consumes the escape and returns its code point.
    private int EscapedCodePoint()
    {
        char c = _pattern[_pos++];
        switch (c)
        {
            case 'n': return '\n';
            case 't': return '\t';
            case 'r': return '\r';
            case 'f': return '\f';
            case 'v': return '\v';
            case '0': return 0;
            case 'x': return Hex(2);
            case 'u':
                if (Peek() == '{')
                {
                    int close = _pattern.IndexOf('}', _pos);
                    if (close < 0) throw Error("unterminated \\u{...}");
                    int v = int.Parse(_pattern.AsSpan(_pos + 1, close - _pos - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    _pos = close + 1;
                    return v;
                }
                int unit = Hex(4);
                // A surrogate pair written as two \u escapes is one character.
                if (unit is >= 0xD800 and <= 0xDBFF && _pos + 5 < _pattern.Length && _pattern[_pos] == '\\' && _pattern[_pos + 1] == 'u')
                {
                    _pos += 2;
                    int low = Hex(4);
                    return char.ConvertToUtf32((char)unit, (char)low);
                }
                return unit;
            default:
                if (char.IsAsciiLetterOrDigit(c)) throw Error($"unknown escape \\{c}");
                _pos--;
                return NextCodePoint();
        }
    }

    private int Hex(int digits)
    {
        if (_pos + digits > _pattern.Length) throw Error("truncated hex escape");
        if (!int.TryParse(_pattern.AsSpan(_pos, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v))
            throw Error("bad hex escape");
        _pos += digits;
        return v;
    }

    private int[] ParseClass()
    {
        _pos++; // '['
        bool negate = Peek() == '^';
        if (negate) _pos++;
        var ranges = new List<int>();
        bool first = true;
        while (true)
        {
            if (_pos >= _pattern.Length) throw Error("missing ']'");
            char c = _pattern[_pos];
            if (c == ']' && !first) { _pos++; break; }
            first = false;
            int lo;
            if (c == '\\')
            {
                _pos++;
                if (_pos >= _pattern.Length) throw Error("trailing backslash");
                int[]? cls = ClassEscape(_pattern[_pos]);
                if (cls is not null) { _pos++; ranges.AddRange(cls); continue; }
                if (_pattern[_pos] == 'b') { _pos++; lo = '\b'; } // backspace inside a class
                else lo = EscapedCodePoint();
            }
            else lo = NextCodePoint();
            int hi = lo;
            if (Peek() == '-' && _pos + 1 < _pattern.Length && _pattern[_pos + 1] != ']')
            {
                _pos++;
                if (_pattern[_pos] == '\\')
                {
                    _pos++;
                    if (ClassEscape(_pattern[_pos]) is not null) throw Error("a class escape cannot end a range");
                    hi = EscapedCodePoint();
                }
                else hi = NextCodePoint();
                if (hi < lo) throw Error("range out of order in character class");
            }
            ranges.Add(lo);
            ranges.Add(hi);
        }
        int[] set = CodePointSet.Normalize([.. ranges]);
        return negate ? CodePointSet.Complement(set) : set;
    }

    private int NextCodePoint()
    {
        char c = _pattern[_pos++];
        if (char.IsHighSurrogate(c) && _pos < _pattern.Length && char.IsLowSurrogate(_pattern[_pos]))
            return char.ConvertToUtf32(c, _pattern[_pos++]);
        return c;
    }

    private char Peek() => _pos < _pattern.Length ? _pattern[_pos] : '\0';

    private StructuredOutputException Error(string what) =>
        new($"Unsupported or invalid regex /{_pattern}/ at {_pos}: {what}.");
}
