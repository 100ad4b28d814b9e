using System.CommandLine;
using VllmSharp.Engine;
using VllmSharp.Server;

namespace VllmSharp.Cli.Commands;

/// <summary>
/// <c>vllmsharp serve [MODEL]</c>: the OpenAI-compatible API server (vLLM's <c>vllm serve</c>). With no MODEL it
/// serves the built-in default model. Ctrl-C / SIGTERM drains: no new requests, in-flight ones finish (up to the
/// drain timeout), then the rest are aborted, and the process exits with 0.
/// </summary>
public static class ServeCommand
{
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
        var chatTemplate = new Option<string?>("--chat-template") { Description = "Chat template file, or the template text (default: the model's)." };
        var origins = new Option<string[]>("--allowed-origins") { Description = "CORS allowed origins (default *).", AllowMultipleArgumentsPerToken = true };
        var methods = new Option<string[]>("--allowed-methods") { Description = "CORS allowed methods (default *).", AllowMultipleArgumentsPerToken = true };
        var headers = new Option<string[]>("--allowed-headers") { Description = "CORS allowed headers (default *).", AllowMultipleArgumentsPerToken = true };
        var credentials = new Option<bool>("--allow-credentials") { Description = "Allow credentials in CORS requests." };
        var rateInterval = new Option<double?>("--rate-limit-interval") { Description = "Rate-limit window in seconds (with --rate-limit-token)." };
        var rateToken = new Option<int?>("--rate-limit-token") { Description = "Requests allowed per window and client (API key, else address)." };
        var drain = new Option<double>("--shutdown-timeout") { Description = "Seconds in-flight requests get to finish on shutdown.", DefaultValueFactory = _ => 30 };

        var command = new Command("serve", "Start the OpenAI-compatible API server.");
        engine.AddTo(command);
        foreach (Option option in new Option[] { host, port, names, apiKey, chatTemplate, origins, methods, headers, credentials, rateInterval, rateToken, disableLogRequests, drain }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            int portValue = parse.GetValue(port);
            if (portValue is < 0 or > 65535) throw new ArgumentException($"--port must be in 0..65535, got {portValue}.");
            if (parse.GetValue(rateInterval) is <= 0 || parse.GetValue(rateToken) is <= 0)
                throw new ArgumentException("--rate-limit-interval and --rate-limit-token must be positive.");
            var args = new ServerArgs
            {
                Host = parse.GetValue(host)!,
                Port = portValue,
                // vLLM reports the model argument as given; the built-in default model is called by its preset name.
                ServedModelNames = parse.GetValue(names) is { Length: > 0 } given ? given
                    : [engine.Model.ResolveModel(parse) ?? DefaultModel.PresetName],
                ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("VLLM_API_KEY"),
                DisableLogRequests = parse.GetValue(disableLogRequests),
                ChatTemplate = parse.GetValue(chatTemplate),
                AllowedOrigins = parse.GetValue(origins) is { Length: > 0 } o ? o : ["*"],
                AllowedMethods = parse.GetValue(methods) is { Length: > 0 } m ? m : ["*"],
                AllowedHeaders = parse.GetValue(headers) is { Length: > 0 } h ? h : ["*"],
                AllowCredentials = parse.GetValue(credentials),
                RateLimitInterval = parse.GetValue(rateInterval),
                RateLimitToken = parse.GetValue(rateToken),
                DrainTimeout = TimeSpan.FromSeconds(parse.GetValue(drain)),
            };
            TextWriter output = parse.InvocationConfiguration.Output;
            using AsyncLLM llm = ModelLoading.StartEngine(engine.Bind(parse), parse);
            await using ApiServer server = ApiServer.Create(llm, args);
            await server.StartAsync(cancellationToken);
            output.WriteLine($"Serving {string.Join(", ", server.State.ServedModelNames)} on {string.Join(", ", server.Urls)}");
            output.WriteLine("Routes: " + string.Join(", ", ApiServer.Routes));
            output.Flush();
            using var stopLogging = new CancellationTokenSource();
            Task statLogger = LogStatsAsync(server, output, stopLogging.Token);
            try
            {
                await server.WaitForShutdownAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C handled by the command line: fall through to the same drain.
            }
            stopLogging.Cancel();
            await statLogger;
            output.WriteLine("Shutting down: draining in-flight requests...");
            await server.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
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
