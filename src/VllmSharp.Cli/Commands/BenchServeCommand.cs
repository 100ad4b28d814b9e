using System.CommandLine;
using System.Globalization;
using VllmSharp.Cli.BenchServe;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp bench serve</c>, after <c>vllm bench serve</c>: streams a dataset of requests to any OpenAI-compatible
/// server (ours, vLLM, llama-server) at a Poisson/Gamma request rate under a concurrency limit and prints vLLM's
/// result block (throughput, TTFT, TPOT, ITL, E2EL, goodput); flag names and defaults are vLLM's.
/// </summary>
public static class BenchServeCommand
{
    public static Command Create()
    {
        var baseUrl = new Option<string?>("--base-url") { Description = "Server or API base url if not using http host and port." };
        var host = new Option<string>("--host") { Description = "Server host.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Server port.", DefaultValueFactory = _ => 8000 };
        var endpoint = new Option<string?>("--endpoint") { Description = "API endpoint: /v1/completions (default) or /v1/chat/completions." };
        var backend = new Option<string?>("--backend") { Description = "openai (completions) or openai-chat (chat completions); default from --endpoint." };
        var label = new Option<string?>("--label") { Description = "Prefix of the result file name (default: the backend)." };
        var model = new Option<string?>("--model") { Description = "Model name sent in requests (default: the first id of GET /v1/models)." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Model folder or .gguf whose tokenizer builds the prompts (default: the model path if local, else the server's /tokenize)." };
        var datasetName = new Option<string>("--dataset-name") { Description = "random or sharegpt.", DefaultValueFactory = _ => "random" };
        var datasetPath = new Option<string?>("--dataset-path") { Description = "ShareGPT JSON file." };
        var inputLen = new Option<int>("--random-input-len") { Description = "Prompt tokens per request (random dataset).", DefaultValueFactory = _ => 1024 };
        var outputLen = new Option<int>("--random-output-len") { Description = "Output tokens per request (random dataset).", DefaultValueFactory = _ => 128 };
        var rangeRatio = new Option<double>("--random-range-ratio") { Description = "Lengths are uniform in [L·(1−r), L·(1+r)], r in [0, 1)." };
        var prefixLen = new Option<int>("--random-prefix-len") { Description = "Random tokens shared by every prompt, before its own." };
        var sharegptOutputLen = new Option<int?>("--sharegpt-output-len") { Description = "Ask for this many tokens instead of each reply's length." };
        var numPrompts = new Option<int>("--num-prompts") { Description = "Requests to send.", DefaultValueFactory = _ => 1000 };
        var requestRate = new Option<string>("--request-rate") { Description = "Requests per second (inf: all at once).", DefaultValueFactory = _ => "inf" };
        var burstiness = new Option<double>("--burstiness") { Description = "Gamma shape of the arrivals: 1 Poisson, <1 burstier, >1 more even.", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var maxConcurrency = new Option<int?>("--max-concurrency") { Description = "Most requests in flight at once." };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Send ignore_eos: true (generation runs to max_tokens)." };
        var percentileMetrics = new Option<string>("--percentile-metrics") { Description = "Comma-separated: ttft, tpot, itl, e2el.", DefaultValueFactory = _ => "ttft,tpot,itl" };
        var metricPercentiles = new Option<string>("--metric-percentiles") { Description = "Comma-separated percentiles, e.g. 25,50,75.", DefaultValueFactory = _ => "99" };
        var goodput = new Option<string[]>("--goodput") { Description = "Service level objectives KEY:MS (ttft, tpot, e2el).", AllowMultipleArgumentsPerToken = true };
        var numWarmups = new Option<int>("--num-warmups") { Description = "Warm-up requests before the timed run." };
        var readyTimeout = new Option<int>("--ready-check-timeout-sec") { Description = "How long the initial test request may wait for the server.", DefaultValueFactory = _ => 600 };
        var saveResult = new Option<bool>("--save-result") { Description = "Save the result JSON." };
        var saveDetailed = new Option<bool>("--save-detailed") { Description = "Include per-request data in the result JSON." };
        var resultDir = new Option<string?>("--result-dir") { Description = "Folder of the result JSON (default: current)." };
        var resultFilename = new Option<string?>("--result-filename") { Description = "Result JSON file name." };
        var disableTqdm = new Option<bool>("--disable-tqdm") { Description = "No progress bar." };

        var command = new Command("serve", "Benchmark an OpenAI-compatible server (as vllm bench serve).");
        foreach (Option option in new Option[]
                 {
                     baseUrl, host, port, endpoint, backend, label, model, tokenizer, datasetName, datasetPath, inputLen, outputLen, rangeRatio, prefixLen,
                     sharegptOutputLen, numPrompts, requestRate, burstiness, seed, maxConcurrency, ignoreEos, percentileMetrics, metricPercentiles, goodput,
                     numWarmups, readyTimeout, saveResult, saveDetailed, resultDir, resultFilename, disableTqdm,
                 })
            command.Options.Add(option);
        backend.AcceptOnlyFromAmong("openai", "openai-chat", "vllm");
        datasetName.AcceptOnlyFromAmong("random", "sharegpt");

        command.SetAction(async (parse, cancellationToken) =>
        {
            string? givenEndpoint = parse.GetValue(endpoint), givenBackend = parse.GetValue(backend);
            string endpointValue = givenEndpoint ?? (givenBackend == "openai-chat" ? "/v1/chat/completions" : "/v1/completions");
            string backendValue = givenBackend is "openai" or "openai-chat" ? givenBackend
                : endpointValue.Contains("chat/completions", StringComparison.Ordinal) ? "openai-chat" : "openai";
            string dataset = parse.GetValue(datasetName)!;
            var config = new ServeBenchConfig
            {
                BaseUrl = parse.GetValue(baseUrl) ?? $"http://{HostPort(parse.GetValue(host)!, parse.GetValue(port))}",
                Endpoint = endpointValue,
                Backend = backendValue,
                Label = parse.GetValue(label),
                Model = parse.GetValue(model),
                Tokenizer = parse.GetValue(tokenizer),
                DatasetName = dataset,
                DatasetPath = parse.GetValue(datasetPath),
                RandomInputLen = parse.GetValue(inputLen),
                RandomOutputLen = parse.GetValue(outputLen),
                RandomRangeRatio = parse.GetValue(rangeRatio),
                RandomPrefixLen = parse.GetValue(prefixLen),
                SharegptOutputLen = parse.GetValue(sharegptOutputLen),
                NumPrompts = parse.GetValue(numPrompts),
                RequestRate = ParseRate(parse.GetValue(requestRate)!),
                Burstiness = parse.GetValue(burstiness),
                Seed = parse.GetValue(seed),
                MaxConcurrency = parse.GetValue(maxConcurrency),
                // As vLLM: a random dataset ignores EOS so every request runs to its requested length.
                IgnoreEos = parse.GetValue(ignoreEos) || dataset == "random",
                PercentileMetrics = SplitList(parse.GetValue(percentileMetrics)!),
                MetricPercentiles = SplitList(parse.GetValue(metricPercentiles)!).Select(ParsePercent).ToArray(),
                Goodput = GoodputConfig.Parse(parse.GetValue(goodput)),
                NumWarmups = parse.GetValue(numWarmups),
                ReadyCheckTimeoutSec = parse.GetValue(readyTimeout),
                SaveResult = parse.GetValue(saveResult),
                SaveDetailed = parse.GetValue(saveDetailed),
                ResultDir = parse.GetValue(resultDir),
                ResultFilename = parse.GetValue(resultFilename),
                DisableTqdm = parse.GetValue(disableTqdm),
            };
            TextWriter output = parse.InvocationConfiguration.Output, log = parse.InvocationConfiguration.Error;
            System.Text.Json.Nodes.JsonObject result = await new ServeBenchmark(config, output, log).RunAsync(cancellationToken).ConfigureAwait(false);
            return result["completed"]!.GetValue<int>() > 0 ? 0 : 1;
        });
        return command;
    }

    private static string HostPort(string host, int port) => host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";

    private static double ParseRate(string text)
        => text.Equals("inf", StringComparison.OrdinalIgnoreCase) ? double.PositiveInfinity
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) && rate > 0 ? rate
            : throw new ArgumentException($"--request-rate must be a positive number or inf, got '{text}'.");

    private static double ParsePercent(string text)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) ? p
            : throw new ArgumentException($"--metric-percentiles: '{text}' is not a number.");

    private static string[] SplitList(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
