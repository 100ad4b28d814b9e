namespace VllmSharp.Engine.Tokenization.ChatTemplates;

internal enum TokenKind
{
    Text,
    Number,
    String,
    Identifier,
    Equals,
    OpenParen,
    CloseParen,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    OpenSquare,
    CloseSquare,
    OpenCurly,
    CloseCurly,
    Comma,
    Dot,
    Colon,
    Pipe,
    Additive,
    Multiplicative,
    Power,
    Comparison,
    UnarySign,
    Comment,
}

/// <summary>One lexed token; <see cref="Offset"/> points into the preprocessed source for error messages.</summary>
internal readonly record struct TemplateToken(TokenKind Kind, string Value, int Offset);
