namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Compiles a GBNF grammar (see <see cref="GbnfParser"/>) from its <c>root</c> rule (or its first rule) to a regular
/// language. Recursion is unrolled: each reference from a rule to a rule of the same recursive group (strongly
/// connected component) goes one level deeper, and past the depth limit the reference is unavailable, so nesting
/// is bounded. Every use of a recursive rule copies its automaton, so the size grows geometrically with the limit:
/// <see cref="CompileNfa"/> raises the limit while the automaton stays within <see cref="NfaBudget"/> states
/// (a few levels of JSON nesting, several of parentheses in an expression grammar).
/// </summary>
internal sealed class GbnfCompiler
{
    public const int NfaBudget = 100_000;
    private const int DepthCap = 64;

    private int _maxDepth = DepthCap;

    private readonly Dictionary<string, GbnfExpr> _rules = [];
    private readonly Dictionary<string, int> _component = [];
    private readonly Dictionary<(string, int), RegexNode> _expanded = [];
    private readonly HashSet<(string, int)> _inProgress = [];
    private int _largestComponent;

    private GbnfCompiler(List<(string Name, GbnfExpr Body)> rules)
    {
        foreach (var (name, body) in rules)
        {
            // Repeated definitions add alternatives, as in llama.cpp.
            _rules[name] = _rules.TryGetValue(name, out GbnfExpr? previous)
                ? new GbnfAlt([[(previous, 1, 1)], [(body, 1, 1)]])
                : body;
        }
        foreach (var (_, body) in rules) CheckRefs(body);
        AssignComponents();
    }

    /// <summary>The grammar with recursion unrolled <paramref name="maxDepth"/> levels deep.</summary>
    public static RegexNode Compile(string grammar, int maxDepth = 8)
    {
        var rules = GbnfParser.Parse(grammar);
        RegexNode node = new GbnfCompiler(rules).Root(rules, maxDepth);
        if (node.Kind == RegexKind.Never) throw new StructuredOutputException("The grammar matches nothing within the recursion limit.");
        return node;
    }

    /// <summary>The automaton with the deepest recursion limit (up to 64) that fits the state budget.</summary>
    public static ByteNfa CompileNfa(string grammar)
    {
        var rules = GbnfParser.Parse(grammar);
        var compiler = new GbnfCompiler(rules);
        ByteNfa? best = null;
        int previousSize = -1, unchanged = 0;
        // One more level of nesting can take up to a whole cycle of the largest recursive group in extra depth.
        int patience = compiler._largestComponent + 1;
        for (int depth = 1; depth <= DepthCap; depth++)
        {
            RegexNode root = compiler.Root(rules, depth);
            if (root.Kind == RegexKind.Never) continue; // a recursive root needs a few levels before anything ends
            ByteNfa? nfa = ByteNfa.TryBuild(root, NfaBudget);
            if (nfa is null) break;
            best = nfa;
            unchanged = nfa.Count == previousSize ? unchanged + 1 : 0;
            if (unchanged >= patience) break; // no recursion left to unroll
            previousSize = nfa.Count;
        }
        return best ?? throw new StructuredOutputException(
            $"The grammar matches nothing, or needs more than {NfaBudget} automaton states at its shallowest recursion.");
    }

    private RegexNode Root(List<(string Name, GbnfExpr Body)> rules, int maxDepth)
    {
        _maxDepth = maxDepth;
        _expanded.Clear();
        string root = _rules.ContainsKey("root") ? "root" : rules[0].Name;
        return Rule(root, 0);
    }

    private RegexNode Rule(string name, int depth)
    {
        if (depth > _maxDepth) return RegexNode.Never;
        if (_expanded.TryGetValue((name, depth), out RegexNode? done)) return done;
        // Left recursion at the same depth cannot happen (same-group references go deeper), so this only guards bugs.
        if (!_inProgress.Add((name, depth))) throw new StructuredOutputException($"Rule '{name}' refers to itself without progress.");
        RegexNode node = Expr(_rules[name], name, depth);
        _inProgress.Remove((name, depth));
        _expanded[(name, depth)] = node;
        return node;
    }

    private RegexNode Expr(GbnfExpr e, string rule, int depth)
    {
        switch (e)
        {
            case GbnfLiteral lit:
                return RegexNode.Text(lit.Text);
            case GbnfClass cls:
                return RegexNode.Chars(cls.Ranges);
            case GbnfRef r:
                return Rule(r.Name, _component[r.Name] == _component[rule] ? depth + 1 : 0);
            case GbnfAlt alt:
                {
                    var options = new RegexNode[alt.Options.Count];
                    for (int i = 0; i < options.Length; i++)
                    {
                        var seq = alt.Options[i];
                        var parts = new RegexNode[seq.Count];
                        for (int j = 0; j < parts.Length; j++)
                            parts[j] = RegexNode.Repeat(Expr(seq[j].Expr, rule, depth), seq[j].Min, seq[j].Max);
                        options[i] = RegexNode.Concat(parts);
                    }
                    return RegexNode.Alt(options);
                }
            default:
                throw new InvalidOperationException(e.GetType().Name);
        }
    }

    private void CheckRefs(GbnfExpr e)
    {
        if (e is GbnfRef r && !_rules.ContainsKey(r.Name)) throw new StructuredOutputException($"The grammar refers to undefined rule '{r.Name}'.");
        if (e is GbnfAlt alt)
            foreach (var seq in alt.Options)
                foreach (var item in seq) CheckRefs(item.Expr);
    }

    // Tarjan's strongly connected components over "rule refers to rule".
    private void AssignComponents()
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        int counter = 0, component = 0;

        void Visit(string v)
        {
            index[v] = low[v] = counter++;
            stack.Push(v);
            onStack.Add(v);
            foreach (string w in Refs(_rules[v]))
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            string x;
            do
            {
                x = stack.Pop();
                onStack.Remove(x);
                _component[x] = component;
            } while (x != v);
            int size = 0;
            foreach (int c in _component.Values) if (c == component) size++;
            _largestComponent = Math.Max(_largestComponent, size);
            component++;
        }

        foreach (string name in _rules.Keys)
            if (!index.ContainsKey(name)) Visit(name);
    }

    private static IEnumerable<string> Refs(GbnfExpr e)
    {
        if (e is GbnfRef r) yield return r.Name;
        if (e is GbnfAlt alt)
            foreach (var seq in alt.Options)
                foreach (var item in seq)
                    foreach (string name in Refs(item.Expr)) yield return name;
    }
}
