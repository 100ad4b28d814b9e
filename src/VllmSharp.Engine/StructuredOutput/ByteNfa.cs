namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// A Thompson NFA over bytes built from a <see cref="RegexNode"/>. Each state is a byte range leading to one next
/// state, an ε-split to up to two states, or the accepting state. Built back to front: every fragment is
/// compiled knowing the state it continues to, so no patching is needed.
/// </summary>
internal sealed class ByteNfa
{
    public const byte KindRange = 0, KindEpsilon = 1, KindAccept = 2;
    public const int DefaultMaxStates = 2_000_000;
    private readonly int _maxStates;

    private readonly List<byte> _kind = [];
    private readonly List<byte> _lo = [], _hi = [];
    private readonly List<int> _next1 = [], _next2 = [];
    // Fragments already built for (node, continuation): a node shared by reference (JSON object tails, any-value
    // subtrees) is compiled once per continuation instead of once per use.
    private readonly Dictionary<(RegexNode, int), int> _built = [];

    public ByteNfa(RegexNode root, int maxStates = DefaultMaxStates)
    {
        _maxStates = maxStates;
        int accept = Add(KindAccept, 0, 0, -1, -1);
        Start = Build(root, accept);
        Kind = [.. _kind];
        Lo = [.. _lo];
        Hi = [.. _hi];
        Next1 = [.. _next1];
        Next2 = [.. _next2];
    }

    /// <summary>The NFA for <paramref name="root"/>, or null when it needs more than <paramref name="maxStates"/> states.</summary>
    public static ByteNfa? TryBuild(RegexNode root, int maxStates)
    {
        try
        {
            return new ByteNfa(root, maxStates);
        }
        catch (TooLargeException)
        {
            return null;
        }
    }

    /// <summary>Thrown past the state budget (a <see cref="StructuredOutputException"/>: a 400 when it escapes).</summary>
    private sealed class TooLargeException(int maxStates)
        : StructuredOutputException($"The constraint is too large (more than {maxStates} automaton states).");

    public int Start { get; }
    public int Count => Kind.Length;
    public byte[] Kind { get; }
    public byte[] Lo { get; }
    public byte[] Hi { get; }
    public int[] Next1 { get; }
    public int[] Next2 { get; }

    private int Add(byte kind, byte lo, byte hi, int next1, int next2)
    {
        if (_kind.Count >= _maxStates) throw new TooLargeException(_maxStates);
        _kind.Add(kind); _lo.Add(lo); _hi.Add(hi); _next1.Add(next1); _next2.Add(next2);
        return _kind.Count - 1;
    }

    private int Build(RegexNode node, int next)
    {
        if (node.Kind is RegexKind.Empty or RegexKind.Bytes) return BuildUncached(node, next);
        if (_built.TryGetValue((node, next), out int start)) return start;
        start = BuildUncached(node, next);
        _built[(node, next)] = start;
        return start;
    }

    private int BuildUncached(RegexNode node, int next)
    {
        switch (node.Kind)
        {
            case RegexKind.Empty:
                return next;
            case RegexKind.Never:
                // An ε-state with no successors: reachable, but leads nowhere (the factories normally remove it).
                return Add(KindEpsilon, 0, 0, -1, -1);
            case RegexKind.Bytes:
                for (int i = node.Literal.Length - 1; i >= 0; i--) next = Add(KindRange, node.Literal[i], node.Literal[i], next, -1);
                return next;
            case RegexKind.Concat:
                for (int i = node.Children.Length - 1; i >= 0; i--) next = Build(node.Children[i], next);
                return next;
            case RegexKind.Alt:
                {
                    int start = Build(node.Children[^1], next);
                    for (int i = node.Children.Length - 2; i >= 0; i--) start = Add(KindEpsilon, 0, 0, Build(node.Children[i], next), start);
                    return start;
                }
            case RegexKind.Chars:
                return BuildChars(node.Ranges, next);
            case RegexKind.Repeat:
                return BuildRepeat(node.Children[0], node.Min, node.Max, next);
            default:
                throw new InvalidOperationException(node.Kind.ToString());
        }
    }

    private int BuildRepeat(RegexNode child, int min, int max, int next)
    {
        int tail;
        if (max == RegexNode.Unbounded)
        {
            // loop: ε → (child → loop) | next
            tail = Add(KindEpsilon, 0, 0, -1, next);
            _next1[tail] = Build(child, tail);
        }
        else
        {
            // (child (child (…)?)?)? — every optional copy may stop and go straight on to next.
            tail = next;
            for (int i = 0; i < max - min; i++) tail = Add(KindEpsilon, 0, 0, Build(child, tail), next);
        }
        for (int i = 0; i < min; i++) tail = Build(child, tail);
        return tail;
    }

    private int BuildChars(int[] ranges, int next)
    {
        var sequences = new List<byte[]>();
        for (int i = 0; i < ranges.Length; i += 2) Utf8Sequences.Add(ranges[i], ranges[i + 1], sequences);
        int start = -1;
        for (int s = sequences.Count - 1; s >= 0; s--)
        {
            byte[] seq = sequences[s];
            int head = next;
            for (int p = seq.Length / 2 - 1; p >= 0; p--) head = Add(KindRange, seq[2 * p], seq[2 * p + 1], head, -1);
            start = start < 0 ? head : Add(KindEpsilon, 0, 0, head, start);
        }
        return start;
    }
}
