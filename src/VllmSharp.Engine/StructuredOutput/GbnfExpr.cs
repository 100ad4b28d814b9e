namespace VllmSharp.Engine.StructuredOutput;

/// <summary>One piece of a grammar rule's body: a literal, a character class, a rule reference, or a group.</summary>
internal abstract record GbnfExpr;
internal sealed record GbnfLiteral(string Text) : GbnfExpr;
internal sealed record GbnfClass(int[] Ranges) : GbnfExpr;
internal sealed record GbnfRef(string Name) : GbnfExpr;
/// <summary>Alternatives, each a sequence of (expression, min, max) items.</summary>
internal sealed record GbnfAlt(List<List<(GbnfExpr Expr, int Min, int Max)>> Options) : GbnfExpr;
