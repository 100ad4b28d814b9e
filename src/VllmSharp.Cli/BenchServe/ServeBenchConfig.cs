namespace VllmSharp.Cli.BenchServe;

/// <summary>Every <c>bench serve</c> flag, bound once and validated in <see cref="Validate"/> (names as vLLM's).</summary>
public sealed record ServeBenchConfig
{
    public string BaseUrl { get; init; } = "http://127.0.0.1:8000";
    public string Endpoint { get; init; } = "/v1/completions";
    /// <summary>"openai" or "openai-chat" (vLLM's --backend); derived from the endpoint when not given.</summary>
    public string Backend { get; init; } = "openai";
    public string? Label { get; init; }
    public string? Model { get; init; }
    public string? Tokenizer { get; init; }
    public string DatasetName { get; init; } = "random";
    public string? DatasetPath { get; init; }
    public int RandomInputLen { get; init; } = 1024;
    public int RandomOutputLen { get; init; } = 128;
    public double RandomRangeRatio { get; init; }
    public int RandomPrefixLen { get; init; }
    public int? SharegptOutputLen { get; init; }
    public int NumPrompts { get; init; } = 1000;
    public double RequestRate { get; init; } = double.PositiveInfinity;
    public double Burstiness { get; init; } = 1.0;
    public int Seed { get; init; }
    public int? MaxConcurrency { get; init; }
    public bool IgnoreEos { get; init; }
    public IReadOnlyList<string> PercentileMetrics { get; init; } = ["ttft", "tpot", "itl"];
    public IReadOnlyList<double> MetricPercentiles { get; init; } = [99];
    public GoodputConfig Goodput { get; init; } = new(null, null, null);
    public int NumWarmups { get; init; }
    public int ReadyCheckTimeoutSec { get; init; } = 600;
    public bool SaveResult { get; init; }
    public bool SaveDetailed { get; init; }
    public string? ResultDir { get; init; }
    public string? ResultFilename { get; init; }
    public bool DisableTqdm { get; init; }

    public bool IsChat => Backend == "openai-chat";

    public void Validate()
    {
        if (NumPrompts < 1) throw new ArgumentException("--num-prompts must be at least 1.");
        if (!(RequestRate > 0)) throw new ArgumentException("--request-rate must be positive (or inf).");
        if (!(Burstiness > 0)) throw new ArgumentException($"A positive burstiness factor is expected, but given {Burstiness}.");
        if (MaxConcurrency is < 1) throw new ArgumentException("--max-concurrency must be at least 1.");
        if (DatasetName is not ("random" or "sharegpt")) throw new ArgumentException($"--dataset-name must be random or sharegpt, got '{DatasetName}'.");
        if (DatasetName == "sharegpt" && DatasetPath is null) throw new ArgumentException("--dataset-name sharegpt needs --dataset-path.");
        if (Backend is not ("openai" or "openai-chat")) throw new ArgumentException($"--backend must be openai or openai-chat, got '{Backend}'.");
        foreach (string metric in PercentileMetrics)
            if (metric is not ("ttft" or "tpot" or "itl" or "e2el"))
                throw new ArgumentException($"--percentile-metrics: unknown metric '{metric}' (ttft, tpot, itl, e2el).");
        foreach (double p in MetricPercentiles)
            if (p is < 0 or > 100) throw new ArgumentException($"--metric-percentiles: {p} is not in [0, 100].");
    }
}
