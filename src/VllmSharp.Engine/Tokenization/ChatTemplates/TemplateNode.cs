namespace VllmSharp.Engine.Tokenization.ChatTemplates;

// The syntax tree. Kept in one file because each node is a one-line record; the interpreter
// switches over them. Offset is a position in the preprocessed source, for error messages.
internal abstract record TemplateNode(int Offset);

internal sealed record TextNode(string Text, int Offset) : TemplateNode(Offset);

internal sealed record OutputNode(TemplateNode Expression, int Offset) : TemplateNode(Offset);

internal sealed record IfNode(TemplateNode Test, List<TemplateNode> Body, List<TemplateNode> Else, int Offset) : TemplateNode(Offset);

internal sealed record ForNode(TemplateNode Target, TemplateNode Iterable, List<TemplateNode> Body, List<TemplateNode> Else, int Offset) : TemplateNode(Offset);

internal sealed record SetNode(TemplateNode Target, TemplateNode? Value, List<TemplateNode> Body, int Offset) : TemplateNode(Offset);

// UsesKwargs/UsesVarargs: the body mentions kwargs/varargs, so extra arguments are collected there (as HF does).
internal sealed record MacroNode(string Name, List<TemplateNode> Parameters, List<TemplateNode> Body, bool UsesKwargs, bool UsesVarargs, int Offset) : TemplateNode(Offset);

internal sealed record CallBlockNode(CallNode Call, List<TemplateNode>? CallerParameters, List<TemplateNode> Body, bool UsesKwargs, bool UsesVarargs, int Offset) : TemplateNode(Offset);

internal sealed record FilterBlockNode(TemplateNode Filter, List<TemplateNode> Body, int Offset) : TemplateNode(Offset);

internal sealed record BreakNode(int Offset) : TemplateNode(Offset);

internal sealed record ContinueNode(int Offset) : TemplateNode(Offset);

internal sealed record LiteralNode(object? Value, int Offset) : TemplateNode(Offset);

internal sealed record NameNode(string Name, int Offset) : TemplateNode(Offset);

internal sealed record ListNode(List<TemplateNode> Items, bool IsTuple, int Offset) : TemplateNode(Offset);

internal sealed record DictNode(List<(TemplateNode Key, TemplateNode Value)> Entries, int Offset) : TemplateNode(Offset);

internal sealed record MemberNode(TemplateNode Target, TemplateNode Property, bool Computed, int Offset) : TemplateNode(Offset);

internal sealed record SliceNode(TemplateNode? Start, TemplateNode? Stop, TemplateNode? Step, int Offset) : TemplateNode(Offset);

internal sealed record CallNode(TemplateNode Callee, List<TemplateNode> Arguments, int Offset) : TemplateNode(Offset);

internal sealed record KeywordArgNode(string Name, TemplateNode Value, int Offset) : TemplateNode(Offset);

internal sealed record SpreadNode(TemplateNode Value, bool Keywords, int Offset) : TemplateNode(Offset);

internal sealed record BinaryNode(string Operator, TemplateNode Left, TemplateNode Right, int Offset) : TemplateNode(Offset);

internal sealed record UnaryNode(string Operator, TemplateNode Operand, int Offset) : TemplateNode(Offset);

internal sealed record FilterNode(TemplateNode Operand, string Name, List<TemplateNode>? Arguments, int Offset) : TemplateNode(Offset);

internal sealed record TestNode(TemplateNode Operand, string Name, bool Negate, int Offset) : TemplateNode(Offset);

internal sealed record TernaryNode(TemplateNode Condition, TemplateNode IfTrue, TemplateNode? IfFalse, int Offset) : TemplateNode(Offset);
