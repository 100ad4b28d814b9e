using VllmSharp.Core.Config;
using VllmSharp.Core.Outputs;
using VllmSharp.Core.Sampling;
using VllmSharp.Engine;
using VllmSharp.Engine.Core;

namespace VllmSharp.StructuredBench;

/// <summary>
/// Decode tokens/s with and without a JSON-schema constraint, at batch 1 and with a batch of concurrent requests,
/// in back-to-back pairs (unconstrained, constrained) so machine drift hits both alike. Temperature 1 with fixed
/// seeds. Unconstrained requests ignore EOS and run to max_tokens; constrained ones use a schema whose
/// output rarely ends (<see cref="Schemas.LongOutput"/>) and their generated tokens are counted. Decode time of a
/// request is last token − first token (prefill excluded), over its tokens after the first.
/// </summary>
internal static class DecodeBench
{
    // Pairs at the larger batch: each takes ~16x a batch-1 request's tokens, so fewer of them.
    private const int BatchReps = 2;

    public static void Run(string model, int tokens, int batch1Reps, int batch, TextWriter output)
    {
        using var llm = new LLM(new EngineArgs { Model = model, MaxModelLen = 1024, KvCacheMemory = "1GiB", Seed = 0 });
        // "After the first request": one constrained request fills the mask cache and jits the matcher, one
        // unconstrained request jits the rest.
        llm.Generate(Prompt(999), Params(tokens, seed: 999, constrained: true));
        llm.Generate(Prompt(998), Params(8, seed: 998, constrained: false));

        var sums = new Dictionary<string, (long Tokens, double Seconds)>();
        Pairs(llm, sums, 1, batch1Reps, tokens, output);
        Pairs(llm, sums, batch, BatchReps, tokens, output);

        output.WriteLine($"batch {batch}");
        output.WriteLine($"max_tokens {tokens}");
        foreach ((string key, (long n, double s)) in sums)
        {
            CompileBench.Emit(output, key + "_tokens", n);
            CompileBench.Emit(output, key + "_tps", n / s);
        }
    }

    /// <summary>
    /// Runs <paramref name="reps"/> pairs (unconstrained, then constrained) of <paramref name="batch"/> concurrent
    /// requests. A pair runs back to back, so its ratio sees the same machine load; the median over pairs resists a
    /// noisy neighbour better than the ratio of the sums does.
    /// </summary>
    private static void Pairs(LLM llm, Dictionary<string, (long, double)> sums, int batch, int reps, int tokens, TextWriter output)
    {
        var slowdowns = new double[reps];
        for (int rep = 0; rep < reps; rep++)
        {
            var tps = new double[2];
            foreach (bool constrained in new[] { false, true })
            {
                var prompts = new List<PromptInput>();
                var ps = new List<SamplingParams>();
                for (int i = 0; i < batch; i++)
                {
                    int seed = rep * 1000 + i;
                    prompts.Add(Prompt(seed));
                    ps.Add(Params(tokens, seed, constrained));
                }
                IReadOnlyList<RequestOutput> outs = llm.Generate(prompts, ps, useProgressBar: false);
                long n = 0;
                foreach (RequestOutput o in outs) n += DecodeTokens(o);
                double seconds = DecodeSeconds(outs);
                Add(sums, Key(batch, constrained), n, seconds);
                tps[constrained ? 1 : 0] = n / seconds;
                if (constrained && rep == 0 && batch == 1)
                    Console.Error.WriteLine($"sample constrained output ({outs[0].Outputs[0].TokenIds.Count} tokens): {outs[0].Outputs[0].Text}");
            }
            slowdowns[rep] = (1 - tps[1] / tps[0]) * 100;
        }
        if (reps == 0) return;
        Array.Sort(slowdowns);
        double median = reps % 2 == 1 ? slowdowns[reps / 2] : (slowdowns[reps / 2 - 1] + slowdowns[reps / 2]) / 2;
        CompileBench.Emit(output, $"b{batch}_pair_slowdown_median_pct", median);
    }

    private static string Key(int batch, bool constrained) => $"b{batch}_{(constrained ? "constrained" : "unconstrained")}";

    private static PromptInput Prompt(int i) => $"Request {i}: list some short notes about the weather as JSON.";

    private static SamplingParams Params(int maxTokens, int seed, bool constrained) => new()
    {
        Temperature = 1.0,
        Seed = seed,
        MaxTokens = maxTokens,
        IgnoreEos = !constrained,
        StructuredOutputs = constrained ? StructuredOutputsParams.ForJson(Schemas.LongOutput) : null,
    };

    private static long DecodeTokens(RequestOutput o) => Math.Max(0, o.Outputs[0].TokenIds.Count - 1);

    private static double DecodeSeconds(IReadOnlyList<RequestOutput> outs)
    {
        double first = double.MinValue, last = double.MinValue;
        foreach (RequestOutput o in outs)
        {
            first = Math.Max(first, o.Metrics.FirstTokenTime ?? throw new InvalidOperationException("No first-token time."));
            last = Math.Max(last, o.Metrics.LastTokenTime ?? throw new InvalidOperationException("No last-token time."));
        }
        return last - first;
    }

    private static void Add(Dictionary<string, (long, double)> sums, string key, long tokens, double seconds)
    {
        sums.TryGetValue(key, out (long N, double S) s);
        sums[key] = (s.N + tokens, s.S + seconds);
    }
}
