using System.Globalization;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

// Expressions, lowest precedence first (the order of @huggingface/jinja's parser).
internal sealed partial class TemplateParser
{
    private TemplateNode ParseSequence(bool primary)
    {
        int offset = Offset;
        TemplateNode first = primary ? ParsePrimary() : ParseExpression();
        if (!Is(TokenKind.Comma))
        {
            return first;
        }

        var items = new List<TemplateNode> { first };
        while (Is(TokenKind.Comma))
        {
            _pos++;
            items.Add(primary ? ParsePrimary() : ParseExpression());
        }

        return new ListNode(items, true, offset);
    }

    private TemplateNode ParseExpression()
    {
        int offset = Offset;
        TemplateNode value = ParseOr();
        if (!IsIdentifier("if"))
        {
            return value;
        }

        _pos++;
        TemplateNode test = ParseOr();
        if (IsIdentifier("else"))
        {
            _pos++;
            return new TernaryNode(test, value, ParseExpression(), offset);
        }

        return new TernaryNode(test, value, null, offset);
    }

    private TemplateNode ParseOr()
    {
        TemplateNode left = ParseAnd();
        while (IsIdentifier("or"))
        {
            int offset = Offset;
            _pos++;
            left = new BinaryNode("or", left, ParseAnd(), offset);
        }

        return left;
    }

    private TemplateNode ParseAnd()
    {
        TemplateNode left = ParseNot();
        while (IsIdentifier("and"))
        {
            int offset = Offset;
            _pos++;
            left = new BinaryNode("and", left, ParseNot(), offset);
        }

        return left;
    }

    private TemplateNode ParseNot()
    {
        if (IsIdentifier("not"))
        {
            int offset = Offset;
            _pos++;
            return new UnaryNode("not", ParseNot(), offset);
        }

        return ParseComparison();
    }

    private TemplateNode ParseComparison()
    {
        TemplateNode left = ParseAdditive();
        while (true)
        {
            int offset = Offset;
            string op;
            if (IsIdentifier("not") && IsIdentifier("in", 1))
            {
                op = "not in";
                _pos += 2;
            }
            else if (IsIdentifier("in"))
            {
                op = "in";
                _pos++;
            }
            else if (Is(TokenKind.Comparison))
            {
                op = _tokens[_pos++].Value;
            }
            else
            {
                return left;
            }

            left = new BinaryNode(op, left, ParseAdditive(), offset);
        }
    }

    private TemplateNode ParseAdditive()
    {
        TemplateNode left = ParseMultiplicative();
        while (Is(TokenKind.Additive))
        {
            TemplateToken op = _tokens[_pos++];
            left = new BinaryNode(op.Value, left, ParseMultiplicative(), op.Offset);
        }

        return left;
    }

    private TemplateNode ParseMultiplicative()
    {
        TemplateNode left = ParsePower();
        while (Is(TokenKind.Multiplicative))
        {
            TemplateToken op = _tokens[_pos++];
            left = new BinaryNode(op.Value, left, ParsePower(), op.Offset);
        }

        return left;
    }

    private TemplateNode ParsePower()
    {
        TemplateNode left = ParseTest();
        while (Is(TokenKind.Power))
        {
            TemplateToken op = _tokens[_pos++];
            left = new BinaryNode(op.Value, left, ParseTest(), op.Offset);
        }

        return left;
    }

    private TemplateNode ParseTest()
    {
        TemplateNode operand = ParseFilter();
        while (IsIdentifier("is"))
        {
            int offset = Offset;
            _pos++;
            bool negate = IsIdentifier("not");
            if (negate)
            {
                _pos++;
            }

            TemplateNode test = ParsePrimary();
            string name = test switch
            {
                NameNode n => n.Name,
                LiteralNode { Value: null } => "none",
                LiteralNode { Value: bool b } => b ? "true" : "false",
                _ => throw Error("expected a test name after 'is'"),
            };
            operand = new TestNode(operand, name, negate, offset);
        }

        return operand;
    }

    private TemplateNode ParseFilter()
    {
        TemplateNode operand = ParseUnary();
        while (Is(TokenKind.Pipe))
        {
            int offset = Offset;
            _pos++;
            if (ParsePrimary() is not NameNode name)
            {
                throw Error("expected a filter name after '|'");
            }

            List<TemplateNode>? args = Is(TokenKind.OpenParen) ? ParseArguments(false) : null;
            operand = new FilterNode(operand, name.Name, args, offset);
            while (Is(TokenKind.Dot) || Is(TokenKind.OpenSquare) || Is(TokenKind.OpenParen))
            {
                operand = Is(TokenKind.OpenParen) ? ParseCall(operand) : ParseMember(operand);
            }
        }

        return operand;
    }

    private TemplateNode ParseUnary()
    {
        if ((Is(TokenKind.UnarySign) || Is(TokenKind.Additive)) && Current.Value is "-" or "+")
        {
            TemplateToken op = _tokens[_pos++];
            return new UnaryNode(op.Value, ParseUnary(), op.Offset);
        }

        TemplateNode member = ParseMember(ParsePrimary());
        return Is(TokenKind.OpenParen) ? ParseCall(member) : member;
    }

    private TemplateNode ParseCall(TemplateNode callee)
    {
        TemplateNode result = new CallNode(callee, ParseArguments(false), callee.Offset);
        result = ParseMember(result);
        return Is(TokenKind.OpenParen) ? ParseCall(result) : result;
    }

    private List<TemplateNode> ParseArguments(bool parameters)
    {
        Expect(TokenKind.OpenParen, "'('");
        var args = new List<TemplateNode>();
        while (!Is(TokenKind.CloseParen))
        {
            int offset = Offset;
            if (Is(TokenKind.Power) || (Is(TokenKind.Multiplicative) && Current.Value == "*"))
            {
                if (parameters)
                {
                    throw Error("argument unpacking is not allowed in macro parameters");
                }

                bool keywords = Current.Kind == TokenKind.Power;
                _pos++;
                args.Add(new SpreadNode(ParseExpression(), keywords, offset));
            }
            else
            {
                TemplateNode arg = ParseExpression();
                if (Is(TokenKind.Equals))
                {
                    _pos++;
                    if (arg is not NameNode name)
                    {
                        throw Error("expected an identifier before '='");
                    }

                    arg = new KeywordArgNode(name.Name, ParseExpression(), offset);
                }
                else if (parameters && arg is not NameNode)
                {
                    throw Error("expected a parameter name");
                }

                args.Add(arg);
            }

            if (Is(TokenKind.Comma))
            {
                _pos++;
            }
            else if (!Is(TokenKind.CloseParen))
            {
                throw Error("expected ',' or ')' in argument list");
            }
        }

        _pos++;
        return args;
    }

    private TemplateNode ParseMember(TemplateNode target)
    {
        while (Is(TokenKind.Dot) || Is(TokenKind.OpenSquare))
        {
            TemplateToken op = _tokens[_pos++];
            if (op.Kind == TokenKind.Dot)
            {
                TemplateNode property = ParsePrimary();
                if (property is not NameNode and not LiteralNode { Value: long })
                {
                    throw Error("expected a name after '.'");
                }

                target = new MemberNode(target, property, false, op.Offset);
                continue;
            }

            var parts = new List<TemplateNode?>();
            bool slice = false;
            while (!Is(TokenKind.CloseSquare))
            {
                if (Is(TokenKind.Colon))
                {
                    parts.Add(null);
                    _pos++;
                    slice = true;
                }
                else
                {
                    parts.Add(ParseExpression());
                    if (Is(TokenKind.Colon))
                    {
                        _pos++;
                        slice = true;
                    }
                }
            }

            Expect(TokenKind.CloseSquare, "']'");
            if (parts.Count == 0 || parts.Count > 3)
            {
                throw Error("expected an index or a slice of 1-3 parts");
            }

            TemplateNode index = slice
                ? new SliceNode(parts[0], parts.Count > 1 ? parts[1] : null, parts.Count > 2 ? parts[2] : null, op.Offset)
                : parts[0]!;
            target = new MemberNode(target, index, true, op.Offset);
        }

        return target;
    }

    private TemplateNode ParsePrimary()
    {
        TemplateToken token = Current;
        _pos++;
        switch (token.Kind)
        {
            case TokenKind.Number:
                return token.Value.Contains('.')
                    ? new LiteralNode(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Offset)
                    : new LiteralNode(long.Parse(token.Value, CultureInfo.InvariantCulture), token.Offset);
            case TokenKind.String:
                string value = token.Value;
                while (Is(TokenKind.String))
                {
                    value += _tokens[_pos++].Value;
                }

                return new LiteralNode(value, token.Offset);
            case TokenKind.Identifier:
                return new NameNode(token.Value, token.Offset);
            case TokenKind.OpenParen:
                TemplateNode inner = ParseSequence(false);
                Expect(TokenKind.CloseParen, "')'");
                return inner;
            case TokenKind.OpenSquare:
                var items = new List<TemplateNode>();
                while (!Is(TokenKind.CloseSquare))
                {
                    items.Add(ParseExpression());
                    if (Is(TokenKind.Comma))
                    {
                        _pos++;
                    }
                }

                _pos++;
                return new ListNode(items, false, token.Offset);
            case TokenKind.OpenCurly:
                var entries = new List<(TemplateNode, TemplateNode)>();
                while (!Is(TokenKind.CloseCurly))
                {
                    TemplateNode key = ParseExpression();
                    Expect(TokenKind.Colon, "':' in a dict literal");
                    entries.Add((key, ParseExpression()));
                    if (Is(TokenKind.Comma))
                    {
                        _pos++;
                    }
                }

                _pos++;
                return new DictNode(entries, token.Offset);
            default:
                _pos--;
                throw Error($"unexpected '{token.Value}'");
        }
    }
}
