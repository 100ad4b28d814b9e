using System.CommandLine;
using Microsoft.Extensions.Logging;
using VllmSharp.Engine;
using VllmSharp.Server;
using VllmSharp.Server.Endpoints.Chat.ToolCalls;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp serve [MODEL]</c>: the OpenAI-compatible API server (vLLM's <c>vllm serve</c>). With no MODEL it
/// serves the built-in default model. Ctrl-C / SIGTERM drains: no new requests, in-flight ones finish (up to the
/// drain timeout), then the rest are aborted, and the process exits with 0.
/// </summary>
public static class ServeCommand
{
    /// <summary>uvicorn's log level names onto .NET's levels.</summary>
    private static readonly Dictionary<string, LogLevel> s_logLevels = new()
    {
        ["critical"] = LogLevel.Critical,
        ["error"] = LogLevel.Error,
        ["warning"] = LogLevel.Warning,
        ["info"] = LogLevel.Information,
        ["debug"] = LogLevel.Debug,
        ["trace"] = LogLevel.Trace,
    };

    public static Command Create()
    {
        var engine = new EngineOptions();
        var host = new Option<string>("--host") { Description = "Address to bind.", DefaultValueFactory = _ => "0.0.0.0" };
        var port = new Option<int>("--port") { Description = "Port to listen on.", DefaultValueFactory = _ => 8000 };
        var names = new Option<string[]>("--served-model-name")
        {
            Description = "Model name(s) clients use; the first is reported in responses (default: the model path).",
            AllowMultipleArgumentsPerToken = true,
        };
        var apiKey = new Option<string?>("--api-key") { Description = "Require this Bearer key on /v1/* (default: $VLLM_API_KEY)." };
        var disableLogRequests = new Option<bool>("--disable-log-requests") { Description = "Do not log each request." };
        var disableAccessLog = new Option<bool>("--disable-uvicorn-access-log") { Description = "Do not log an access line per HTTP request." };
        var disableLogStats = new Option<bool>("--disable-log-stats") { Description = "Do not log the periodic throughput/KV-cache stats line." };
        var logLevel = new Option<string>("--uvicorn-log-level", "--log-level")
        {
            Description = "Minimum log level: critical, error, warning, info, debug, trace.",
            DefaultValueFactory = _ => "info",
        };
        // A validator rather than AcceptOnlyFromAmong: its message names the flag, not only the bad value.
        logLevel.Validators.Add(result =>
        {
            string value = result.GetValueOrDefault<string>();
            if (!s_logLevels.ContainsKey(value))
                result.AddError($"--uvicorn-log-level (--log-level) must be one of {string.Join(", ", s_logLevels.Keys)}; got '{value}'.");
        });
        var generationConfig = new Option<string>("--generation-config")
        {
            Description = "Default sampling params: auto (the model's generation_config.json), vllm (vLLM's defaults), or a folder holding generation_config.json.",
            DefaultValueFactory = _ => "auto",
        };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "Chat template file, or the template text (default: the model's)." };
        var origins = new Option<string[]>("--allowed-origins") { Description = "CORS allowed origins (default *).", AllowMultipleArgumentsPerToken = true };
        var methods = new Option<string[]>("--allowed-methods") { Description = "CORS allowed methods (default *).", AllowMultipleArgumentsPerToken = true };
        var headers = new Option<string[]>("--allowed-headers") { Description = "CORS allowed headers (default *).", AllowMultipleArgumentsPerToken = true };
        var credentials = new Option<bool>("--allow-credentials") { Description = "Allow credentials in CORS requests." };
        var rateInterval = new Option<double?>("--rate-limit-interval") { Description = "Rate-limit window in seconds (with --rate-limit-token)." };
        var rateToken = new Option<int?>("--rate-limit-token") { Description = "Requests allowed per window and client (API key, else address)." };
        var maxWaiting = new Option<int?>("--max-waiting-requests")
        {
            Description = "Refuse (503) a generation request when this many already wait behind the --max-num-seqs running ones (default: unlimited).",
        };
        var autoToolChoice = new Option<bool>("--enable-auto-tool-choice") { Description = "Let the model decide when to call tools (tool_choice \"auto\"); needs --tool-call-parser." };
        var toolCallParser = new Option<string?>("--tool-call-parser") { Description = $"How tool calls are written in the model's output: {string.Join(", ", ToolCallParser.Names)}." };
        var excludeTools = new Option<bool>("--exclude-tools-when-tool-choice-none") { Description = "Do not show the tools to the chat template when tool_choice is \"none\"." };
        var drain = new Option<double>("--shutdown-timeout") { Description = "Seconds in-flight requests get to finish on shutdown.", DefaultValueFactory = _ => 30 };

        var command = new Command("serve", "Start the OpenAI-compatible API server.");
        engine.AddTo(command);
        foreach (Option option in new Option[] { host, port, names, apiKey, chatTemplate, origins, methods, headers, credentials, rateInterval, rateToken, maxWaiting, disableLogRequests, disableAccessLog, disableLogStats, logLevel, generationConfig, autoToolChoice, toolCallParser, excludeTools, drain }) command.Options.Add(option);
        // A synchronous action on purpose: System.CommandLine gives an async action's SIGTERM/SIGINT only a short
        // grace period and then ends the process with 143/130, cutting in-flight streams. Here the host's console
        // lifetime takes the signal instead and drains (see RunAsync's wait for shutdown).
        command.SetAction(parse => RunAsync(parse).GetAwaiter().GetResult());
        return command;

        async Task<int> RunAsync(ParseResult parse)
        {
            int portValue = parse.GetValue(port);
            if (portValue is < 0 or > 65535) throw new ArgumentException($"--port must be in 0..65535, got {portValue}.");
            string generationConfigValue = parse.GetValue(generationConfig)!;
            if (generationConfigValue is not ("auto" or "vllm") && !Directory.Exists(generationConfigValue))
                throw new ArgumentException($"--generation-config must be auto, vllm or a folder holding generation_config.json; '{generationConfigValue}' is none of these.");
            if (parse.GetValue(rateInterval) is <= 0 || parse.GetValue(rateToken) is <= 0)
                throw new ArgumentException("--rate-limit-interval and --rate-limit-token must be positive.");
            if (parse.GetValue(maxWaiting) is < 0)
                throw new ArgumentException($"--max-waiting-requests must be 0 or more, got {parse.GetValue(maxWaiting)}.");
            var args = new ServerArgs
            {
                Host = parse.GetValue(host)!,
                Port = portValue,
                // vLLM reports the model argument as given; the built-in default model is called by its preset name.
                ServedModelNames = parse.GetValue(names) is { Length: > 0 } given ? given
                    : [engine.Model.ResolveModel(parse) ?? DefaultModel.PresetName],
                ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("VLLM_API_KEY"),
                DisableLogRequests = parse.GetValue(disableLogRequests),
                DisableAccessLog = parse.GetValue(disableAccessLog),
                LogLevel = s_logLevels[parse.GetValue(logLevel)!],
                GenerationConfig = generationConfigValue,
                ChatTemplate = parse.GetValue(chatTemplate),
                AllowedOrigins = parse.GetValue(origins) is { Length: > 0 } o ? o : ["*"],
                AllowedMethods = parse.GetValue(methods) is { Length: > 0 } m ? m : ["*"],
                AllowedHeaders = parse.GetValue(headers) is { Length: > 0 } h ? h : ["*"],
                AllowCredentials = parse.GetValue(credentials),
                RateLimitInterval = parse.GetValue(rateInterval),
                RateLimitToken = parse.GetValue(rateToken),
                MaxWaitingRequests = parse.GetValue(maxWaiting),
                ToolCalling = new ToolCallOptions
                {
                    EnableAutoToolChoice = parse.GetValue(autoToolChoice),
                    Parser = parse.GetValue(toolCallParser),
                    ExcludeToolsWhenToolChoiceNone = parse.GetValue(excludeTools),
                },
                DrainTimeout = TimeSpan.FromSeconds(parse.GetValue(drain)),
            };
            args.ToolCalling.Validate(); // before the model loads: a bad flag fails in a second, not after minutes
            TextWriter output = parse.InvocationConfiguration.Output;
            using AsyncLLM llm = ModelLoading.StartEngine(engine.Bind(parse), parse);
            await using ApiServer server = ApiServer.Create(llm, args);
            if (!server.State.Defaults.IsEmpty && args.LogLevel <= LogLevel.Information)
                output.WriteLine("INFO Default sampling parameters have been overridden by the model's Hugging Face generation config recommended "
                    + $"from the model creator. If this is not intended, please relaunch with `--generation-config vllm`. Using: {server.State.Defaults}");
            await server.StartAsync();
            output.WriteLine($"Serving {string.Join(", ", server.State.ServedModelNames)} on {string.Join(", ", server.Urls)}");
            output.WriteLine("Routes: " + string.Join(", ", ApiServer.Routes));
            output.Flush();
            using var stopLogging = new CancellationTokenSource();
            Task statLogger = parse.GetValue(disableLogStats) || args.LogLevel > LogLevel.Information ? Task.CompletedTask
                : LogStatsAsync(server, output, stopLogging.Token);
            // Returns on SIGTERM / Ctrl-C once the host has stopped: Kestrel stopped accepting and in-flight requests
            // had up to --shutdown-timeout to finish before being aborted.
            using (server.Stopping.Register(() => { output.WriteLine($"Shutting down: no new requests; in-flight ones get up to {args.DrainTimeout.TotalSeconds:g} s."); output.Flush(); }))
                await server.WaitForShutdownAsync();
            stopLogging.Cancel();
            await statLogger;
            await server.StopAsync(CancellationToken.None);
            output.WriteLine("Server stopped.");
            return 0;
        }
    }

    /// <summary>vLLM's periodic stats line, every 10 s while the engine has been busy.</summary>
    private static async Task LogStatsAsync(ApiServer server, TextWriter output, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
                if (server.Metrics.LogLine() is string line)
                {
                    output.WriteLine($"INFO {DateTime.Now:MM-dd HH:mm:ss} [metrics] {line}");
                    output.Flush();
                }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
