using System.Globalization;
using System.Text;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Parses GBNF (llama.cpp's grammar format, also vLLM's EBNF input): <c>name ::= body</c> rules; bodies with
/// "literals" (\n \t \r \\ \" \xHH \uHHHH \UHHHHHHHH escapes), [classes] with ranges and ^, '.', rule names,
/// ( groups ), | alternation, * + ? {m} {m,} {m,n}; # comments. A rule ends where the next <c>name ::=</c> starts.
/// </summary>
internal sealed class GbnfParser
{
    private readonly string _text;
    private int _pos;

    private GbnfParser(string text) => _text = text;

    /// <summary>Rules in source order.</summary>
    public static List<(string Name, GbnfExpr Body)> Parse(string text)
    {
        var parser = new GbnfParser(text);
        var rules = new List<(string, GbnfExpr)>();
        parser.SkipSpace();
        while (parser._pos < text.Length)
        {
            string name = parser.Name() ?? throw parser.Error("expected a rule name");
            parser.SkipSpace();
            if (!parser.TryTake("::=")) throw parser.Error($"expected '::=' after '{name}'");
            rules.Add((name, parser.Alternation()));
            parser.SkipSpace();
        }
        if (rules.Count == 0) throw new StructuredOutputException("The grammar has no rules.");
        return rules;
    }

    private GbnfAlt Alternation()
    {
        var options = new List<List<(GbnfExpr, int, int)>> { Sequence() };
        while (true)
        {
            SkipSpace();
            if (!TryTake("|")) return new GbnfAlt(options);
            options.Add(Sequence());
        }
    }

    private List<(GbnfExpr, int, int)> Sequence()
    {
        var items = new List<(GbnfExpr, int, int)>();
        while (true)
        {
            SkipSpace();
            if (_pos >= _text.Length || Peek() is '|' or ')' || AtRuleStart()) return items;
            GbnfExpr atom = Atom();
            int min = 1, max = 1;
            bool quantified = false;
            while (Peek() is '*' or '+' or '?' or '{')
            {
                // A second quantifier applies to the first one's result: x+? is (x+)?.
                if (quantified) { atom = new GbnfAlt([[(atom, min, max)]]); }
                char q = Peek();
                if (q == '{') (min, max) = Braces();
                else
                {
                    _pos++;
                    (min, max) = q switch { '*' => (0, RegexNode.Unbounded), '+' => (1, RegexNode.Unbounded), _ => (0, 1) };
                }
                quantified = true;
            }
            items.Add((atom, min, max));
        }
    }

    private (int, int) Braces()
    {
        _pos++;
        int min = Number(), max = min;
        SkipInline();
        if (TryTake(","))
        {
            SkipInline();
            max = Peek() == '}' ? RegexNode.Unbounded : Number();
        }
        SkipInline();
        if (!TryTake("}")) throw Error("expected '}'");
        if (max != RegexNode.Unbounded && max < min) throw Error("repetition has max < min");
        return (min, max);
    }

    private int Number()
    {
        SkipInline();
        int start = _pos;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
        if (start == _pos || _pos - start > 5) throw Error("expected a repetition count");
        return int.Parse(_text.AsSpan(start, _pos - start), CultureInfo.InvariantCulture);
    }

    private GbnfExpr Atom()
    {
        char c = Peek();
        if (c == '"' || c == '\'') return new GbnfLiteral(Literal(c));
        if (c == '[') return new GbnfClass(Class());
        if (c == '.') { _pos++; return new GbnfClass([0, CodePointSet.MaxCodePoint]); }
        if (c == '(')
        {
            _pos++;
            GbnfAlt inner = Alternation();
            SkipSpace();
            if (!TryTake(")")) throw Error("expected ')'");
            return inner;
        }
        string? name = Name();
        if (name is null) throw Error($"unexpected '{c}'");
        return new GbnfRef(name);
    }

    private string Literal(char quote)
    {
        _pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length) throw Error("unterminated string literal");
            char c = _text[_pos];
            if (c == quote) { _pos++; return sb.ToString(); }
            if (c == '\\') sb.Append(char.ConvertFromUtf32(Escape()));
            else { sb.Append(c); _pos++; }
        }
    }

    private int[] Class()
    {
        _pos++;
        bool negate = TryTake("^");
        var ranges = new List<int>();
        while (true)
        {
            if (_pos >= _text.Length) throw Error("unterminated character class");
            if (Peek() == ']') { _pos++; break; }
            int lo = ClassChar(), hi = lo;
            if (Peek() == '-' && _pos + 1 < _text.Length && _text[_pos + 1] != ']')
            {
                _pos++;
                hi = ClassChar();
                if (hi < lo) throw Error("character range out of order");
            }
            ranges.Add(lo);
            ranges.Add(hi);
        }
        int[] set = CodePointSet.Normalize([.. ranges]);
        return negate ? CodePointSet.Complement(set) : set;
    }

    private int ClassChar()
    {
        if (Peek() == '\\') return Escape();
        int cp = char.ConvertToUtf32(_text, _pos);
        _pos += cp > 0xFFFF ? 2 : 1;
        return cp;
    }

    // At a backslash: consumes the escape and returns the code point.
    private int Escape()
    {
        _pos++;
        if (_pos >= _text.Length) throw Error("trailing backslash");
        char c = _text[_pos++];
        return c switch
        {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'x' => Hex(2),
            'u' => Hex(4),
            'U' => Hex(8),
            _ => c,
        };
    }

    private int Hex(int digits)
    {
        if (_pos + digits > _text.Length || !int.TryParse(_text.AsSpan(_pos, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v))
            throw Error("bad hex escape");
        _pos += digits;
        return v;
    }

    private string? Name()
    {
        int start = _pos;
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '-' or '_')) _pos++;
        return _pos == start ? null : _text[start.._pos];
    }

    // A rule name followed by ::= starts the next rule, ending the current body.
    private bool AtRuleStart()
    {
        int save = _pos;
        bool result = Name() is not null;
        if (result)
        {
            SkipSpace();
            result = TryTake("::=");
        }
        _pos = save;
        return result;
    }

    private void SkipSpace()
    {
        while (_pos < _text.Length)
        {
            if (char.IsWhiteSpace(_text[_pos])) _pos++;
            else if (_text[_pos] == '#') { while (_pos < _text.Length && _text[_pos] != '\n') _pos++; }
            else break;
        }
    }

    private void SkipInline()
    {
        while (_pos < _text.Length && _text[_pos] is ' ' or '\t') _pos++;
    }

    private bool TryTake(string s)
    {
        if (string.CompareOrdinal(_text, _pos, s, 0, s.Length) != 0) return false;
        _pos += s.Length;
        return true;
    }

    private char Peek() => _pos < _text.Length ? _text[_pos] : '\0';

    private StructuredOutputException Error(string what)
    {
        int line = 1;
        for (int i = 0; i < _pos && i < _text.Length; i++) if (_text[i] == '\n') line++;
        return new StructuredOutputException($"Invalid grammar at line {line}: {what}.");
    }
}
