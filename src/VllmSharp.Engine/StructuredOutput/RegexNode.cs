using System.Text;

namespace VllmSharp.Engine.StructuredOutput;

internal enum RegexKind { Empty, Never, Chars, Bytes, Concat, Alt, Repeat }

/// <summary>
/// A regular language over Unicode text, the common form every constraint compiles to (regex, choice, JSON
/// schema, grammars with their recursion unrolled). <see cref="RegexKind.Never"/> is the empty language: the
/// factories simplify it away, which is how a JSON schema's recursion is cut off at a depth limit without
/// leaving unsatisfiable branches behind.
/// </summary>
internal sealed class RegexNode
{
    public static readonly RegexNode Empty = new(RegexKind.Empty);
    public static readonly RegexNode Never = new(RegexKind.Never);
    public const int Unbounded = -1;

    private RegexNode(RegexKind kind) => Kind = kind;

    public RegexKind Kind { get; }
    /// <summary>Chars: sorted, disjoint, inclusive code point ranges [lo0, hi0, lo1, hi1, …], surrogates excluded.</summary>
    public int[] Ranges { get; private init; } = [];
    /// <summary>Bytes: a literal UTF-8 byte string.</summary>
    public byte[] Literal { get; private init; } = [];
    public RegexNode[] Children { get; private init; } = [];
    public int Min { get; private init; }
    /// <summary>Repeat: the upper bound, or <see cref="Unbounded"/>.</summary>
    public int Max { get; private init; }

    /// <summary>Whether the language holds nothing but the empty string; used to keep trees small.</summary>
    public bool IsEmpty => Kind == RegexKind.Empty;

    public static RegexNode Text(string text) => Bytes(Encoding.UTF8.GetBytes(text));

    public static RegexNode Bytes(byte[] bytes) => bytes.Length == 0 ? Empty : new RegexNode(RegexKind.Bytes) { Literal = bytes };

    /// <summary>A set of code points given as inclusive ranges, in any order; surrogates are removed.</summary>
    public static RegexNode Chars(ReadOnlySpan<int> ranges)
    {
        int[] set = CodePointSet.Normalize(ranges);
        return set.Length == 0 ? Never : new RegexNode(RegexKind.Chars) { Ranges = set };
    }

    public static RegexNode Char(int codePoint) => Chars([codePoint, codePoint]);

    public static RegexNode Concat(params ReadOnlySpan<RegexNode> parts)
    {
        var list = new List<RegexNode>(parts.Length);
        foreach (RegexNode p in parts)
        {
            if (p.Kind == RegexKind.Never) return Never;
            if (p.Kind == RegexKind.Empty) continue;
            if (p.Kind == RegexKind.Concat) list.AddRange(p.Children);
            else list.Add(p);
        }
        return list.Count switch { 0 => Empty, 1 => list[0], _ => new RegexNode(RegexKind.Concat) { Children = [.. list] } };
    }

    public static RegexNode Alt(params ReadOnlySpan<RegexNode> options)
    {
        var list = new List<RegexNode>(options.Length);
        foreach (RegexNode o in options)
        {
            if (o.Kind == RegexKind.Never) continue;
            if (o.Kind == RegexKind.Alt) list.AddRange(o.Children);
            else list.Add(o);
        }
        return list.Count switch { 0 => Never, 1 => list[0], _ => new RegexNode(RegexKind.Alt) { Children = [.. list] } };
    }

    public static RegexNode Optional(RegexNode node) => Repeat(node, 0, 1);

    public static RegexNode Repeat(RegexNode node, int min, int max)
    {
        if (max != Unbounded && max < min) throw new ArgumentException($"Repetition {{{min},{max}}} has max < min.");
        if (node.Kind == RegexKind.Never) return min == 0 ? Empty : Never;
        if (node.Kind == RegexKind.Empty || max == 0) return Empty;
        if (min == 1 && max == 1) return node;
        return new RegexNode(RegexKind.Repeat) { Children = [node], Min = min, Max = max };
    }
}
