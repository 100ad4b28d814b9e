using System.Diagnostics;
using System.Numerics;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine.Core;
using VllmSharp.Engine.StructuredOutput;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.StructuredBench;

/// <summary>
/// First-request cost of a typical schema, in a fresh process: "cold" compiles with no trie built yet (the cost
/// before prewarming existed), "prewarm" first lets the background trie build finish (as engine start does while
/// the model loads). Then walks the constraint twice along the same random path: the first walk computes each
/// new state's mask, the second only looks masks up (the steady state of later requests).
/// </summary>
internal static class CompileBench
{
    private const int WalkTokens = 2048;

    public static void Run(string model, bool prewarm, TextWriter output)
    {
        string mode = prewarm ? "prewarm" : "cold";
        ITokenizer tokenizer = EngineFactory.LoadTokenizer(model);
        output.WriteLine($"vocab {tokenizer.VocabSize}");
        if (prewarm)
        {
            long t0 = Stopwatch.GetTimestamp();
            StructuredOutputManager.Prewarm(tokenizer).Wait();
            Emit(output, "prewarm_trie_ms", Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }

        StructuredOutputManager manager = StructuredOutputManager.For(tokenizer);
        StructuredOutputsParams constraint = StructuredOutputsParams.ForJson(Schemas.Typical());
        long start = Stopwatch.GetTimestamp();
        manager.Compile(constraint);
        Emit(output, $"{mode}_compile_ms", Stopwatch.GetElapsedTime(start).TotalMilliseconds);

        (int tokens, double firstMs, bool done) = Walk(manager, constraint, tokenizer, seed: 1);
        (_, double secondMs, _) = Walk(manager, constraint, tokenizer, seed: 1);
        Emit(output, $"{mode}_walk_tokens", tokens);
        Emit(output, $"{mode}_walk_completed", done ? 1 : 0);
        Emit(output, $"{mode}_first_walk_ms", firstMs);
        Emit(output, $"{mode}_second_walk_us_per_token", secondMs * 1000 / Math.Max(1, tokens));
        Emit(output, $"{mode}_states", manager.Compile(constraint).StateCount);

        // Same size, other key: misses the cache once the compiler is jitted (what later new schemas cost).
        start = Stopwatch.GetTimestamp();
        manager.Compile(StructuredOutputsParams.ForJson(Schemas.Typical(variant: 1)));
        Emit(output, $"{mode}_second_schema_compile_ms", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>Draws uniformly among the allowed tokens (seeded); times only the matcher's calls.</summary>
    private static (int Tokens, double MatcherMs, bool Completed) Walk(StructuredOutputManager manager, StructuredOutputsParams constraint,
        ITokenizer tokenizer, int seed)
    {
        StructuredOutputMatcher matcher = manager.CreateMatcher(constraint);
        var rng = new Random(seed);
        long ticks = 0;
        for (int step = 0; step < WalkTokens; step++)
        {
            long t0 = Stopwatch.GetTimestamp();
            ulong[] mask = matcher.AllowedTokens();
            ticks += Stopwatch.GetTimestamp() - t0;
            int token = Pick(mask, rng);
            t0 = Stopwatch.GetTimestamp();
            bool ok = matcher.Advance(token);
            ticks += Stopwatch.GetTimestamp() - t0;
            if (!ok) throw new InvalidOperationException($"The matcher rejected token {token} that its mask allowed.");
            if (tokenizer.EosTokenIds.Contains(token)) return (step + 1, ticks * 1000.0 / Stopwatch.Frequency, true);
        }
        return (WalkTokens, ticks * 1000.0 / Stopwatch.Frequency, false);
    }

    private static int Pick(ulong[] mask, Random rng)
    {
        int total = 0;
        foreach (ulong w in mask) total += BitOperations.PopCount(w);
        int k = rng.Next(total);
        for (int w = 0; ; w++)
        {
            int c = BitOperations.PopCount(mask[w]);
            if (k >= c) { k -= c; continue; }
            ulong bits = mask[w];
            for (; k > 0; k--) bits &= bits - 1;
            return w * 64 + BitOperations.TrailingZeroCount(bits);
        }
    }

    internal static void Emit(TextWriter output, string key, double value) =>
        output.WriteLine(FormattableString.Invariant($"{key} {value:0.###}"));
}
