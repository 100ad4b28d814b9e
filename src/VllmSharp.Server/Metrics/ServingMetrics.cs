using VllmSharp.Core.Outputs;
using VllmSharp.Engine;

namespace VllmSharp.Server.Metrics;

/// <summary>
/// vLLM's Prometheus metrics (same names, <c>model_name</c> label) for <c>GET /metrics</c>: load gauges and prefix
/// cache counters are read from the engine at scrape time; token counters and latency histograms are fed by the
/// engine's per-request events. One registry per server, so several servers in one process don't mix.
/// (Counter names end in <c>_total</c> as vLLM exposes them.)
/// </summary>
public sealed class ServingMetrics : IDisposable
{
    private static readonly double[] s_latencyBuckets =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

    private readonly AsyncLLM _engine;
    private readonly MetricChild _running, _waiting, _kvUsage;
    private readonly MetricChild _promptTokens, _generationTokens, _prefixQueries, _prefixHits;
    private readonly MetricChild _ttft, _itl, _tpot, _e2e;
    private readonly MetricFamily _success;
    private readonly string _model;
    private long _promptTotal, _generationTotal, _loggedPrompt, _loggedGeneration, _loggedQueries, _loggedHits;
    private double _loggedAt = Environment.TickCount64 / 1000.0;

    public ServingMetrics(AsyncLLM engine, string modelName)
    {
        _engine = engine;
        _model = modelName;
        Registry = new PrometheusRegistry();
        string[] labels = ["model_name"];
        MetricFamily G(string name, string help) => Registry.Add(name, help, "gauge", labels);
        MetricFamily C(string name, string help, params string[] extra) => Registry.Add(name, help, "counter", [.. labels, .. extra]);
        MetricFamily H(string name, string help) => Registry.Add(name, help, "histogram", labels, s_latencyBuckets);

        _running = G("vllm:num_requests_running", "Number of requests in model execution batches.").WithLabels(modelName);
        _waiting = G("vllm:num_requests_waiting", "Number of requests waiting to be processed.").WithLabels(modelName);
        _kvUsage = G("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.").WithLabels(modelName);
        _promptTokens = C("vllm:prompt_tokens_total", "Number of prefill tokens processed.").WithLabels(modelName);
        _generationTokens = C("vllm:generation_tokens_total", "Number of generation tokens processed.").WithLabels(modelName);
        _prefixQueries = C("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.").WithLabels(modelName);
        _prefixHits = C("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.").WithLabels(modelName);
        _success = C("vllm:request_success_total", "Count of successfully processed requests.", "finished_reason");
        _ttft = H("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.").WithLabels(modelName);
        _itl = H("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.").WithLabels(modelName);
        _tpot = H("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.").WithLabels(modelName);
        _e2e = H("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.").WithLabels(modelName);

        Registry.AddBeforeCollectCallback(Refresh);
        ProcessMetrics.Register(Registry);
        engine.RequestFinished += OnFinished;
        engine.TokensDelivered += OnTokens;
    }

    public PrometheusRegistry Registry { get; }

    private void Refresh()
    {
        EngineStats stats = _engine.Stats;
        _running.Set(stats.NumRunning);
        _waiting.Set(stats.NumWaiting);
        _kvUsage.Set(stats.KvCacheUsage);
        _prefixQueries.IncTo(stats.PrefixCacheQueries);
        _prefixHits.IncTo(stats.PrefixCacheHits);
    }

    private void OnTokens(int tokens, double seconds)
    {
        if (tokens <= 0) return;
        for (int i = 0; i < tokens; i++) _itl.Observe(seconds / tokens);
    }

    private void OnFinished(RequestFinishedInfo info)
    {
        RequestMetrics m = info.Final.Metrics;
        _promptTokens.Inc(info.PromptTokens);
        _generationTokens.Inc(info.GenerationTokens);
        Interlocked.Add(ref _promptTotal, info.PromptTokens);
        Interlocked.Add(ref _generationTotal, info.GenerationTokens);
        if (m.FirstTokenTime is double first) _ttft.Observe(first - m.ArrivalTime);
        if (m.FinishedTime is double end)
        {
            _e2e.Observe(end - m.ArrivalTime);
            if (m.FirstTokenTime is double firstToken && info.GenerationTokens > 1)
                _tpot.Observe((end - firstToken) / (info.GenerationTokens - 1));
        }
        foreach (CompletionOutput completion in info.Final.Outputs)
            if (completion.FinishReason is string reason) _success.WithLabels(_model, reason).Inc();
    }

    /// <summary>
    /// vLLM's periodic stats line (throughput since the last line, load, KV usage, prefix hit rate), or null when
    /// nothing happened since then.
    /// </summary>
    public string? LogLine()
    {
        double now = Environment.TickCount64 / 1000.0, seconds = Math.Max(now - _loggedAt, 1e-3);
        EngineStats stats = _engine.Stats;
        long prompt = Interlocked.Read(ref _promptTotal), generation = Interlocked.Read(ref _generationTotal);
        long queries = stats.PrefixCacheQueries - _loggedQueries, hits = stats.PrefixCacheHits - _loggedHits;
        bool active = prompt != _loggedPrompt || generation != _loggedGeneration || stats.NumRunning > 0 || stats.NumWaiting > 0;
        string line = $"Avg prompt throughput: {(prompt - _loggedPrompt) / seconds:F1} tokens/s, "
                    + $"Avg generation throughput: {(generation - _loggedGeneration) / seconds:F1} tokens/s, "
                    + $"Running: {stats.NumRunning} reqs, Waiting: {stats.NumWaiting} reqs, "
                    + $"KV cache usage: {stats.KvCacheUsage * 100:F1}%, Prefix cache hit rate: {(queries > 0 ? 100.0 * hits / queries : 0):F1}%";
        (_loggedAt, _loggedPrompt, _loggedGeneration, _loggedQueries, _loggedHits) = (now, prompt, generation, stats.PrefixCacheQueries, stats.PrefixCacheHits);
        return active ? line : null;
    }

    public void Dispose()
    {
        _engine.RequestFinished -= OnFinished;
        _engine.TokensDelivered -= OnTokens;
    }
}
