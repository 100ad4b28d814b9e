using System.Diagnostics;
using System.Runtime.CompilerServices;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// Compiles constraints for one tokenizer (vLLM's StructuredOutputManager) and caches the results, so that requests
/// repeating a schema share its automaton and its masks. One instance per tokenizer, shared by every engine using
/// it: the input processor compiles (and so rejects bad constraints with a 400) when a request arrives, the model
/// runner finds the same grammar when the request is first scheduled.
/// </summary>
public sealed class StructuredOutputManager
{
    private const int MaxCachedGrammars = 128;
    private static readonly ConditionalWeakTable<ITokenizer, StructuredOutputManager> s_managers = new();

    private readonly ITokenizer _tokenizer;
    private readonly Dictionary<string, StructuredOutputGrammar> _grammars = [];
    private readonly object _lock = new();

    private StructuredOutputManager(ITokenizer tokenizer) => _tokenizer = tokenizer;

    public static StructuredOutputManager For(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return s_managers.GetValue(tokenizer, t => new StructuredOutputManager(t));
    }

    /// <summary>
    /// Starts building the vocabulary trie that every constraint of this tokenizer needs (0.1–0.9 s for the 152k
    /// Qwen vocabulary, with machine load) on a background thread, so the first constrained request does not pay
    /// for it: the engine calls this when it loads a tokenizer. Unconstrained requests never wait for it; a
    /// constrained request that arrives before it finishes waits for the rest. A failed build faults nothing here:
    /// the constrained requests get the error. The task completes when the build has ended either way.
    /// </summary>
    public static Task Prewarm(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return TokenTrie.Prewarm(tokenizer);
    }

    /// <summary>Time spent in the last compile that missed the cache, including any wait for the vocabulary trie (for benchmarks and logs).</summary>
    public TimeSpan LastCompileTime { get; private set; }

    /// <summary>The compiled constraint; throws <see cref="StructuredOutputException"/> when it cannot compile.</summary>
    public StructuredOutputGrammar Compile(StructuredOutputsParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        string key = KeyOf(p);
        lock (_lock)
            if (_grammars.TryGetValue(key, out StructuredOutputGrammar? cached)) return cached;

        long start = Stopwatch.GetTimestamp();
        // Built outside the lock: compiling a schema may take milliseconds, and a duplicate compile is harmless.
        var grammar = new StructuredOutputGrammar(ToNfa(p), Trie(), _tokenizer.VocabSize, _tokenizer.EosTokenIds);
        LastCompileTime = Stopwatch.GetElapsedTime(start);
        lock (_lock)
        {
            if (_grammars.TryGetValue(key, out StructuredOutputGrammar? raced)) return raced;
            if (_grammars.Count >= MaxCachedGrammars) _grammars.Clear();
            _grammars[key] = grammar;
            return grammar;
        }
    }

    private TokenTrie Trie()
    {
        try
        {
            return TokenTrie.For(_tokenizer);
        }
        catch (Exception e)
        {
            // Not the request's fault (so not a StructuredOutputException, a 400): the tokenizer's vocabulary could
            // not be read. Every constrained request of this tokenizer fails with this; other requests are unaffected.
            throw new InvalidOperationException(
                $"Structured outputs are unavailable for this model: building the token trie of its tokenizer failed: {e.Message}", e);
        }
    }

    public StructuredOutputMatcher CreateMatcher(StructuredOutputsParams p) => new(Compile(p), _tokenizer);

    /// <summary>The constraint's byte automaton (before it meets a vocabulary).</summary>
    internal static ByteNfa ToNfa(StructuredOutputsParams p)
    {
        p.Validate();
        if (p.Grammar is not null) return GbnfCompiler.CompileNfa(p.Grammar);
        RegexNode root = ToRegex(p);
        if (root.Kind == RegexKind.Never) throw new StructuredOutputException("The constraint matches no output at all.");
        return new ByteNfa(root);
    }

    /// <summary>The constraint as a regular language over text (grammars: see <see cref="GbnfCompiler"/>).</summary>
    internal static RegexNode ToRegex(StructuredOutputsParams p)
    {
        if (p.Regex is not null) return RegexParser.ParseFullMatch(p.Regex);
        if (p.Choice is not null)
        {
            var options = new RegexNode[p.Choice.Count];
            for (int i = 0; i < options.Length; i++) options[i] = RegexNode.Text(p.Choice[i]);
            return RegexNode.Alt(options);
        }
        if (p.Json is not null) return JsonSchemaCompiler.Compile(p.Json);
        if (p.Grammar is not null) return GbnfCompiler.Compile(p.Grammar);
        return JsonSchemaCompiler.AnyJsonObject();
    }

    private static string KeyOf(StructuredOutputsParams p)
    {
        if (p.Regex is not null) return "regex\0" + p.Regex;
        if (p.Choice is not null) return "choice\0" + string.Join('\0', p.Choice) + "\0" + p.Choice.Count;
        if (p.Json is not null) return "json\0" + p.Json;
        if (p.Grammar is not null) return "grammar\0" + p.Grammar;
        return "json_object";
    }
}
