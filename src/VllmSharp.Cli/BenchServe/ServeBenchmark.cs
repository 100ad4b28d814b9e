using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// One <c>bench serve</c> run, in vLLM's order: resolve the model and a tokenizer, build the dataset, one test
/// request (which also waits for the server), optional warm-ups, then every request sent on its arrival time through
/// the concurrency limit, and the report.
/// </summary>
public sealed class ServeBenchmark(ServeBenchConfig config, TextWriter output, TextWriter log)
{
    /// <summary>Runs the benchmark; returns vLLM's result JSON (also saved with --save-result).</summary>
    public async Task<JsonObject> RunAsync(CancellationToken cancellationToken)
    {
        config.Validate();
        string baseUrl = config.BaseUrl.TrimEnd('/');
        using HttpClient http = StreamingClient.CreateHttpClient((config.MaxConcurrency ?? config.NumPrompts) + 2);
        (string modelId, string? root) = config.Model is string m ? (m, null) : await FirstModelAsync(http, baseUrl, cancellationToken).ConfigureAwait(false);
        IPromptTokenizer? tokenizer = ResolveTokenizer(http, baseUrl, modelId, root);
        log.WriteLine(tokenizer is null
            ? "No tokenizer (no --tokenizer, no local model path, no /tokenize): prompt and output lengths are counted in words and chunks."
            : $"Tokenizer: {tokenizer.Source}");

        var random = new Random(config.Seed);
        List<SampleRequest> samples = config.DatasetName == "random"
            ? RandomDataset.Sample(tokenizer, config.NumPrompts, config.RandomInputLen, config.RandomOutputLen, config.RandomRangeRatio, config.RandomPrefixLen, random)
            : LoadShareGpt(tokenizer, random);
        if (samples.Count == 0) throw new ArgumentException("The dataset produced no requests.");

        var client = new StreamingClient(http, baseUrl + config.Endpoint, modelId, config.IsChat, config.IgnoreEos);
        await TestRunAsync(client, samples[0], cancellationToken).ConfigureAwait(false);
        if (config.NumWarmups > 0)
        {
            output.WriteLine($"Warming up with {config.NumWarmups} requests...");
            await RunAllAsync(client, Enumerable.Repeat(samples[0], config.NumWarmups).ToList(), new double[config.NumWarmups], null, cancellationToken).ConfigureAwait(false);
            output.WriteLine("Warmup run completed.");
        }

        output.WriteLine("Starting main benchmark run...");
        output.WriteLine($"Traffic request rate: {ServeReport.PythonFloat(config.RequestRate)}");
        output.WriteLine($"Burstiness factor: {ServeReport.PythonFloat(config.Burstiness)} ({(config.Burstiness == 1.0 ? "Poisson process" : "Gamma distribution")})");
        output.WriteLine($"Maximum request concurrency: {(config.MaxConcurrency is int c ? c.ToString(CultureInfo.InvariantCulture) : "None")}");
        output.Flush();
        double[] offsets = ArrivalSchedule.Offsets(samples.Count, config.RequestRate, config.Burstiness, random);

        (RequestResult[] results, double duration) = config.DisableTqdm
            ? await RunAllAsync(client, samples, offsets, null, cancellationToken).ConfigureAwait(false)
            : await WithProgressAsync(client, samples, offsets, cancellationToken).ConfigureAwait(false);

        Func<string, int>? countTokens = tokenizer is null ? null : text => tokenizer.Encode(text).Length;
        var metrics = BenchmarkMetrics.Calculate(results, duration, config.MetricPercentiles, config.Goodput, countTokens);
        if (metrics.Failed > 0)
            log.WriteLine($"{metrics.Failed} request(s) failed; first error: {Array.Find(results, r => !r.Success)!.Error}");
        if (metrics.Completed == 0) log.WriteLine("All requests failed. This is likely due to a misconfiguration on the benchmark arguments.");

        JsonObject result = Header(modelId, tokenizer);
        ServeReport.Write(output, metrics, duration, config.MaxConcurrency, config.RequestRate, config.Goodput, [.. config.PercentileMetrics], result);
        if (config.SaveDetailed) AddDetails(result, results, metrics);
        if (config.SaveResult) Save(result, modelId);
        return result;
    }

    private List<SampleRequest> LoadShareGpt(IPromptTokenizer? tokenizer, Random random)
    {
        using FileStream file = File.OpenRead(config.DatasetPath!);
        Func<string, int>? count = tokenizer is null ? null : text => tokenizer.Encode(text).Length + tokenizer.NumSpecialTokens;
        return ShareGptDataset.Load(file, config.NumPrompts, count, random, config.SharegptOutputLen);
    }

    /// <summary>--tokenizer, else the model id or the server's reported root when it is a local path, else the server's /tokenize.</summary>
    private IPromptTokenizer? ResolveTokenizer(HttpClient http, string baseUrl, string modelId, string? root)
    {
        if (config.Tokenizer is string path) return LocalPromptTokenizer.Load(path);
        foreach (string? candidate in (ReadOnlySpan<string?>)[modelId, root])
            if (candidate is not null && (File.Exists(candidate) && candidate.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)
                    || File.Exists(Path.Combine(candidate, "tokenizer.json"))))
                return LocalPromptTokenizer.Load(candidate);
        return ServerPromptTokenizer.TryCreate(http, baseUrl, modelId);
    }

    /// <summary>The first id of GET /v1/models (and its "root", our server's model path), retried until the server answers.</summary>
    private async Task<(string Id, string? Root)> FirstModelAsync(HttpClient http, string baseUrl, CancellationToken cancellationToken)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(Math.Max(1, config.ReadyCheckTimeoutSec) * (double)Stopwatch.Frequency);
        while (true)
        {
            try
            {
                using JsonDocument models = JsonDocument.Parse(await http.GetStringAsync(baseUrl + "/v1/models", cancellationToken).ConfigureAwait(false));
                JsonElement first = models.RootElement.GetProperty("data")[0];
                string? root = first.TryGetProperty("root", out JsonElement r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                return (first.GetProperty("id").GetString()!, root);
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException)
            {
                if (Stopwatch.GetTimestamp() > deadline) throw new InvalidOperationException($"No model list from {baseUrl}/v1/models: {e.Message}");
                await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>vLLM's initial single-prompt run: retried until it succeeds or the ready-check timeout passes.</summary>
    private async Task TestRunAsync(StreamingClient client, SampleRequest sample, CancellationToken cancellationToken)
    {
        output.WriteLine("Starting initial single prompt test run...");
        long deadline = Stopwatch.GetTimestamp() + (long)(config.ReadyCheckTimeoutSec * (double)Stopwatch.Frequency);
        while (true)
        {
            RequestResult test = await client.SendAsync(sample, Stopwatch.GetTimestamp(), cancellationToken).ConfigureAwait(false);
            if (test.Success) break;
            bool transient = test.Error.StartsWith(nameof(HttpRequestException), StringComparison.Ordinal) || test.Error.StartsWith("HTTP 503", StringComparison.Ordinal);
            if (!transient || Stopwatch.GetTimestamp() > deadline)
                throw new InvalidOperationException($"Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: {test.Error}");
            await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
        }
        output.WriteLine("Initial test run completed.");
    }

    private async Task<(RequestResult[] Results, double Duration)> WithProgressAsync(StreamingClient client, List<SampleRequest> samples, double[] offsets,
        CancellationToken cancellationToken)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(log) });
        (RequestResult[], double) outcome = default;
        await console.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                ProgressTask task = ctx.AddTask("requests", maxValue: samples.Count);
                outcome = await RunAllAsync(client, samples, offsets, () => task.Increment(1), cancellationToken).ConfigureAwait(false);
                task.StopTask();
            }).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>Sends request i at offsets[i] seconds (through the concurrency limit) and waits for all of them.</summary>
    private async Task<(RequestResult[] Results, double Duration)> RunAllAsync(StreamingClient client, List<SampleRequest> samples, double[] offsets,
        Action? onDone, CancellationToken cancellationToken)
    {
        using SemaphoreSlim? limit = config.MaxConcurrency is int c ? new SemaphoreSlim(c) : null;
        long start = Stopwatch.GetTimestamp();
        var tasks = new Task<RequestResult>[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            double wait = offsets[i] - Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken).ConfigureAwait(false);
            tasks[i] = SendLimitedAsync(samples[i]);
        }
        RequestResult[] results = await Task.WhenAll(tasks).ConfigureAwait(false);
        return (results, Stopwatch.GetElapsedTime(start).TotalSeconds);

        async Task<RequestResult> SendLimitedAsync(SampleRequest sample)
        {
            if (limit is not null) await limit.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await client.SendAsync(sample, start, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                limit?.Release();
                onDone?.Invoke();
            }
        }
    }

    private JsonObject Header(string modelId, IPromptTokenizer? tokenizer) => new()
    {
        ["date"] = DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture),
        ["endpoint_type"] = config.Backend,
        ["backend"] = config.Backend,
        ["label"] = config.Label,
        ["model_id"] = modelId,
        ["tokenizer_id"] = config.Tokenizer ?? tokenizer?.Source,
        ["num_prompts"] = config.NumPrompts,
        ["request_rate"] = double.IsPositiveInfinity(config.RequestRate) ? "inf" : config.RequestRate,
        ["burstiness"] = config.Burstiness,
        ["max_concurrency"] = config.MaxConcurrency,
    };

    private static void AddDetails(JsonObject result, RequestResult[] results, BenchmarkMetrics metrics)
    {
        result["input_lens"] = new JsonArray([.. results.Select(r => (JsonNode?)r.PromptLen)]);
        result["output_lens"] = new JsonArray([.. metrics.OutputLens.Select(n => (JsonNode?)n)]);
        result["ttfts"] = new JsonArray([.. results.Select(r => (JsonNode?)r.Ttft)]);
        result["itls"] = new JsonArray([.. results.Select(r => (JsonNode?)new JsonArray([.. r.Itl.Select(x => (JsonNode?)x)]))]);
        result["generated_texts"] = new JsonArray([.. results.Select(r => (JsonNode?)r.GeneratedText)]);
        result["errors"] = new JsonArray([.. results.Select(r => (JsonNode?)r.Error)]);
    }

    /// <summary>vLLM's file name: {label}-{rate}qps[-concurrency{C}]-{model basename}-{date}.json.</summary>
    private void Save(JsonObject result, string modelId)
    {
        string concurrency = config.MaxConcurrency is int c ? $"-concurrency{c}" : "";
        string baseModel = modelId.TrimEnd('/').Split('/')[^1];
        string name = config.ResultFilename
            ?? $"{config.Label ?? config.Backend}-{ServeReport.PythonFloat(config.RequestRate)}qps{concurrency}-{baseModel}-{result["date"]}.json";
        if (config.ResultDir is string dir)
        {
            Directory.CreateDirectory(dir);
            name = Path.Combine(dir, name);
        }
        File.WriteAllText(name, result.ToJsonString());
        log.WriteLine($"Saved the result to {name}");
    }
}
