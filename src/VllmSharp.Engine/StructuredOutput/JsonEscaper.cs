namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Turns a language over decoded text (a schema's <c>pattern</c>) into the language of its JSON string contents:
/// '"', '\' and control characters must be written as escapes, every other character stands for itself.
/// Classes of characters leave those outside the BMP out: validators (JSON Schema's ECMA-262 regexes without the u flag, .NET)
/// match patterns on UTF-16 code units, where such a character counts twice against a class or a '.'.
/// </summary>
internal static class JsonEscaper
{
    private static readonly int[] s_mustEscape = [0x00, 0x1F, '"', '"', '\\', '\\'];
    private static readonly int[] s_astral = [0x10000, CodePointSet.MaxCodePoint];

    public static RegexNode Escape(RegexNode node) => node.Kind switch
    {
        RegexKind.Chars => EscapeChars(node.Ranges),
        RegexKind.Concat => RegexNode.Concat([.. node.Children.Select(Escape)]),
        RegexKind.Alt => RegexNode.Alt([.. node.Children.Select(Escape)]),
        RegexKind.Repeat => RegexNode.Repeat(Escape(node.Children[0]), node.Min, node.Max),
        RegexKind.Bytes => throw new InvalidOperationException("Patterns hold no raw byte literals."),
        _ => node,
    };

    private static RegexNode EscapeChars(int[] ranges)
    {
        // A literal astral character (a one-element set) is two code units in sequence and matches as written.
        int[] safe = CodePointSet.Subtract(ranges, CodePointSet.Normalize(s_mustEscape));
        if (!(ranges.Length == 2 && ranges[0] == ranges[1])) safe = CodePointSet.Subtract(safe, s_astral);
        var options = new List<RegexNode> { RegexNode.Chars(safe) };
        for (int i = 0; i < ranges.Length; i += 2)
        {
            for (int c = ranges[i]; c <= Math.Min(ranges[i + 1], 0x5C); c++)
            {
                string? escaped = c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    '\t' => "\\t",
                    '\r' => "\\r",
                    '\b' => "\\b",
                    '\f' => "\\f",
                    < 0x20 => $"\\u{c:x4}",
                    _ => null,
                };
                if (escaped is not null) options.Add(RegexNode.Text(escaped));
            }
        }
        return RegexNode.Alt([.. options]);
    }
}
