using System.Globalization;

namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// <c>--goodput ttft:MS tpot:MS e2el:MS</c>: service-level objectives in milliseconds; a request is "good" when it
/// meets every one given (DistServe's goodput, as vLLM computes it).
/// </summary>
public sealed record GoodputConfig(double? TtftMs, double? TpotMs, double? E2elMs)
{
    public bool IsSet => TtftMs is not null || TpotMs is not null || E2elMs is not null;

    public static GoodputConfig Parse(IReadOnlyList<string>? pairs)
    {
        double? ttft = null, tpot = null, e2el = null;
        foreach (string pair in pairs ?? [])
        {
            string[] parts = pair.Split(':');
            if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                throw new ArgumentException("Invalid format found for service level objectives. Specify service level objectives for goodput as \"KEY:VALUE\" pairs, where the key is a metric name, and the value is a number in milliseconds.");
            if (value < 0) throw new ArgumentException($"Invalid value found, {parts[0]}: {parts[1]}. The service level objective value should be non-negative.");
            switch (parts[0])
            {
                case "ttft": ttft = value; break;
                case "tpot": tpot = value; break;
                case "e2el": e2el = value; break;
                default: throw new ArgumentException($"Invalid metric name found, {parts[0]}: {parts[1]}. The service level objective name should be one of ['ttft', 'tpot', 'e2el'].");
            }
        }
        return new GoodputConfig(ttft, tpot, e2el);
    }

    /// <summary>True when every configured objective holds (values in seconds; tpot is 0 for ≤ 1 output token).</summary>
    public bool IsGood(double ttft, double tpot, double e2el)
        => (TtftMs is not double t || ttft <= t / 1000) && (TpotMs is not double p || tpot <= p / 1000) && (E2elMs is not double e || e2el <= e / 1000);
}
