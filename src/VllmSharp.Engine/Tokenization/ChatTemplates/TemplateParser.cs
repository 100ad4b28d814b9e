namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// Recursive-descent parser with @huggingface/jinja's grammar and precedence (lowest first):
/// ternary, or, and, not, comparison/in, additive (+ - ~), multiplicative, power, is-test,
/// filter, unary sign, call/member, primary.
/// </summary>
internal sealed partial class TemplateParser
{
    private readonly List<TemplateToken> _tokens;
    private readonly string _source;
    private int _pos;

    private TemplateParser(List<TemplateToken> tokens, string source)
    {
        _tokens = tokens;
        _source = source;
    }

    public static List<TemplateNode> Parse(List<TemplateToken> tokens, string source)
    {
        var parser = new TemplateParser(tokens, source);
        var body = new List<TemplateNode>();
        while (parser._pos < tokens.Count)
        {
            if (parser.ParseAny() is TemplateNode node)
            {
                body.Add(node);
            }
        }

        return body;
    }

    private TemplateToken Current => _pos < _tokens.Count ? _tokens[_pos] : throw Error("unexpected end of template");

    private int Offset => _pos < _tokens.Count ? _tokens[_pos].Offset : _source.Length;

    private ChatTemplateException Error(string what) =>
        new($"Chat template syntax error at {TemplateLexer.Where(_source, Offset)}: {what}.");

    private bool Is(TokenKind kind) => _pos < _tokens.Count && _tokens[_pos].Kind == kind;

    private bool IsIdentifier(string name, int ahead = 0) =>
        _pos + ahead < _tokens.Count && _tokens[_pos + ahead].Kind == TokenKind.Identifier && _tokens[_pos + ahead].Value == name;

    private bool IsStatement(params string[] names)
    {
        if (!Is(TokenKind.OpenStatement) || _pos + 1 >= _tokens.Count || _tokens[_pos + 1].Kind != TokenKind.Identifier)
        {
            return false;
        }

        return Array.IndexOf(names, _tokens[_pos + 1].Value) >= 0;
    }

    private TemplateToken Expect(TokenKind kind, string what)
    {
        if (!Is(kind))
        {
            throw Error(_pos < _tokens.Count ? $"expected {what}, got '{_tokens[_pos].Value}'" : $"expected {what} before the end of the template");
        }

        return _tokens[_pos++];
    }

    private void ExpectIdentifier(string name)
    {
        if (!IsIdentifier(name))
        {
            throw Error($"expected '{name}'");
        }

        _pos++;
    }

    private List<TemplateNode> ParseUntil(params string[] statements)
    {
        var body = new List<TemplateNode>();
        while (!IsStatement(statements))
        {
            if (_pos >= _tokens.Count)
            {
                throw Error($"missing {{% {statements[^1]} %}}");
            }

            if (ParseAny() is TemplateNode node)
            {
                body.Add(node);
            }
        }

        return body;
    }

    private TemplateNode? ParseAny()
    {
        TemplateToken token = Current;
        switch (token.Kind)
        {
            case TokenKind.Comment:
                _pos++;
                return null;
            case TokenKind.Text:
                _pos++;
                return new TextNode(token.Value, token.Offset);
            case TokenKind.OpenStatement:
                return ParseStatement();
            case TokenKind.OpenExpression:
                _pos++;
                TemplateNode expression = ParseExpression();
                Expect(TokenKind.CloseExpression, "'}}'");
                return new OutputNode(expression, token.Offset);
            default:
                throw Error($"unexpected token '{token.Value}'");
        }
    }

    private TemplateNode ParseStatement()
    {
        int offset = Offset;
        Expect(TokenKind.OpenStatement, "'{%'");
        if (!Is(TokenKind.Identifier))
        {
            throw Error("expected a statement name");
        }

        string name = Current.Value;
        _pos++;
        switch (name)
        {
            case "set":
                return ParseSet(offset);
            case "if":
                TemplateNode ifNode = ParseIf(offset);
                EndTag("endif");
                return ifNode;
            case "for":
                TemplateNode forNode = ParseFor(offset);
                EndTag("endfor");
                return forNode;
            case "macro":
                TemplateNode macro = ParseMacro(offset);
                EndTag("endmacro");
                return macro;
            case "call":
                {
                    List<TemplateNode>? callerParameters = Is(TokenKind.OpenParen) ? ParseArguments(true) : null;
                    TemplateNode callee = ParsePrimary();
                    if (callee is not NameNode)
                    {
                        throw Error("expected a macro name after 'call'");
                    }

                    var call = new CallNode(callee, ParseArguments(false), offset);
                    Expect(TokenKind.CloseStatement, "'%}'");
                    int bodyStart = _pos;
                    List<TemplateNode> body = ParseUntil("endcall");
                    (bool kwargs, bool varargs) = MentionsSpecialArguments(bodyStart, _pos);
                    EndTag("endcall");
                    return new CallBlockNode(call, callerParameters, body, kwargs, varargs, offset);
                }

            case "filter":
                {
                    TemplateNode filter = ParsePrimary();
                    if (filter is NameNode && Is(TokenKind.OpenParen))
                    {
                        filter = ParseCall(filter);
                    }

                    Expect(TokenKind.CloseStatement, "'%}'");
                    List<TemplateNode> body = ParseUntil("endfilter");
                    EndTag("endfilter");
                    return new FilterBlockNode(filter, body, offset);
                }

            case "break":
                Expect(TokenKind.CloseStatement, "'%}'");
                return new BreakNode(offset);
            case "continue":
                Expect(TokenKind.CloseStatement, "'%}'");
                return new ContinueNode(offset);
            default:
                _pos--;
                throw Error($"unsupported statement '{{% {name} %}}'");
        }
    }

    private void EndTag(string name)
    {
        Expect(TokenKind.OpenStatement, "'{%'");
        ExpectIdentifier(name);
        Expect(TokenKind.CloseStatement, "'%}'");
    }

    private TemplateNode ParseSet(int offset)
    {
        TemplateNode target = ParseSequence(false);
        if (Is(TokenKind.Equals))
        {
            _pos++;
            TemplateNode value = ParseSequence(false);
            Expect(TokenKind.CloseStatement, "'%}'");
            return new SetNode(target, value, [], offset);
        }

        Expect(TokenKind.CloseStatement, "'%}'");
        List<TemplateNode> body = ParseUntil("endset");
        EndTag("endset");
        return new SetNode(target, null, body, offset);
    }

    private IfNode ParseIf(int offset)
    {
        TemplateNode test = ParseExpression();
        Expect(TokenKind.CloseStatement, "'%}'");
        List<TemplateNode> body = ParseUntil("elif", "else", "endif");
        var alternate = new List<TemplateNode>();
        if (IsStatement("elif"))
        {
            int elifOffset = Offset;
            _pos += 2;
            alternate.Add(ParseIf(elifOffset));
        }
        else if (IsStatement("else"))
        {
            _pos += 2;
            Expect(TokenKind.CloseStatement, "'%}'");
            alternate = ParseUntil("endif");
        }

        return new IfNode(test, body, alternate, offset);
    }

    private ForNode ParseFor(int offset)
    {
        TemplateNode target = ParseSequence(true);
        if (target is not (NameNode or ListNode))
        {
            throw Error("expected a loop variable");
        }

        ExpectIdentifier("in");
        TemplateNode iterable = ParseExpression();
        if (IsIdentifier("recursive"))
        {
            throw Error("unsupported feature 'recursive' loops");
        }

        Expect(TokenKind.CloseStatement, "'%}'");
        List<TemplateNode> body = ParseUntil("endfor", "else");
        var alternate = new List<TemplateNode>();
        if (IsStatement("else"))
        {
            _pos += 2;
            Expect(TokenKind.CloseStatement, "'%}'");
            alternate = ParseUntil("endfor");
        }

        return new ForNode(target, iterable, body, alternate, offset);
    }

    private MacroNode ParseMacro(int offset)
    {
        TemplateNode name = ParsePrimary();
        if (name is not NameNode macroName)
        {
            throw Error("expected a macro name");
        }

        List<TemplateNode> parameters = ParseArguments(true);
        Expect(TokenKind.CloseStatement, "'%}'");
        int bodyStart = _pos;
        List<TemplateNode> body = ParseUntil("endmacro");
        (bool kwargs, bool varargs) = MentionsSpecialArguments(bodyStart, _pos);
        return new MacroNode(macroName.Name, parameters, body, kwargs, varargs, offset);
    }

    private (bool Kwargs, bool Varargs) MentionsSpecialArguments(int start, int end)
    {
        bool kwargs = false;
        bool varargs = false;
        for (int i = start; i < end; i++)
        {
            if (_tokens[i].Kind == TokenKind.Identifier)
            {
                kwargs |= _tokens[i].Value == "kwargs";
                varargs |= _tokens[i].Value == "varargs";
            }
        }

        return (kwargs, varargs);
    }
}
