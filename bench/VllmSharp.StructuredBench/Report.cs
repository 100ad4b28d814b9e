using System.Globalization;

namespace VllmSharp.StructuredBench;

/// <summary>Turns the "key value" lines of the other modes into the markdown tables, with the issue's targets.</summary>
internal static class Report
{
    private const double SlowdownTargetPercent = 10;
    private const double CompileTargetMs = 50;

    public static void Write(TextReader input, TextWriter output)
    {
        var v = new Dictionary<string, string>();
        for (string? line; (line = input.ReadLine()) is not null;)
        {
            int space = line.IndexOf(' ');
            if (space > 0) v[line[..space]] = line[(space + 1)..].Trim();
        }
        double D(string key) => v.TryGetValue(key, out string? s) ? double.Parse(s, CultureInfo.InvariantCulture) : double.NaN;
        string F(double x, string format = "0.0") => double.IsNaN(x) ? "n/a" : x.ToString(format, CultureInfo.InvariantCulture);

        output.WriteLine("## Typical schema, first request (7 properties: bounded string, bounded integer, enum, string array, nested object, boolean, optional string)");
        output.WriteLine();
        output.WriteLine("| | vocabulary trie | schema compile | first walk: masks + advances | steady state per token (cached masks) | DFA states | 2nd new schema compile |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        foreach (string mode in new[] { "cold", "prewarm" })
        {
            string trie = mode == "cold" ? "inside compile" : $"{F(D("prewarm_trie_ms"))} ms in the background";
            output.WriteLine($"| {(mode == "cold" ? "no prewarm (before)" : "after prewarm (engine start)")} | {trie} | {F(D(mode + "_compile_ms"))} ms "
                + $"| {F(D(mode + "_first_walk_ms"))} ms for {F(D(mode + "_walk_tokens"), "0")} tokens | {F(D(mode + "_second_walk_us_per_token"), "0.00")} µs "
                + $"| {F(D(mode + "_states"), "0")} | {F(D(mode + "_second_schema_compile_ms"))} ms |");
        }
        double compile = D("prewarm_compile_ms");
        output.WriteLine();
        output.WriteLine($"Target: compile ≤ {CompileTargetMs} ms after prewarm — **{Verdict(compile <= CompileTargetMs, compile)}** ({F(compile)} ms).");
        output.WriteLine();

        string batch = v.GetValueOrDefault("batch", "16");
        output.WriteLine($"## Decode tokens/s, temperature 1.0, max_tokens {v.GetValueOrDefault("max_tokens", "?")} (after a first constrained request)");
        output.WriteLine();
        output.WriteLine("| batch | unconstrained tok/s (tokens) | JSON-schema tok/s (tokens) | slowdown (median of pairs) | target |");
        output.WriteLine("|---|---|---|---|---|");
        foreach (string b in new[] { "1", batch })
        {
            double u = D($"b{b}_unconstrained_tps"), c = D($"b{b}_constrained_tps");
            double slowdown = (1 - c / u) * 100;
            // The median of back-to-back pairs (see DecodeBench) when measured; the ratio of the sums otherwise.
            if (v.ContainsKey($"b{b}_pair_slowdown_median_pct")) slowdown = D($"b{b}_pair_slowdown_median_pct");
            string target = b == "1" ? $"≤ {SlowdownTargetPercent} %: **{Verdict(slowdown <= SlowdownTargetPercent, slowdown)}**" : "(none)";
            output.WriteLine($"| {b} | {F(u, "0.00")} ({F(D($"b{b}_unconstrained_tokens"), "0")}) | {F(c, "0.00")} ({F(D($"b{b}_constrained_tokens"), "0")}) "
                + $"| {F(slowdown)} % | {target} |");
        }
    }

    private static string Verdict(bool met, double value) => double.IsNaN(value) ? "not measured" : met ? "met" : "missed";
}
