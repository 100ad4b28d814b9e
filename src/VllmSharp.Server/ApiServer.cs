using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VllmSharp.Engine;
using VllmSharp.Engine.Chat;
using VllmSharp.Server.Endpoints.Chat;
using VllmSharp.Server.Endpoints.Completions;
using VllmSharp.Server.Endpoints.Health;
using VllmSharp.Server.Endpoints.Models;
using VllmSharp.Server.Endpoints.Tokenize;
using VllmSharp.Server.Logging;
using VllmSharp.Server.Metrics;
using VllmSharp.Server.Middleware;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server;

/// <summary>
/// vLLM's OpenAI-compatible API server on Kestrel: the routes below over one <see cref="AsyncLLM"/>. Errors from any
/// endpoint go through <see cref="ErrorMapper"/>; <c>/v1/*</c> needs the API key when one is set; CORS and the
/// optional per-client rate limit come from the framework's middleware.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    public static readonly string[] Routes =
    [
        "POST /v1/chat/completions", "POST /v1/completions", "GET /v1/models", "POST /tokenize", "POST /detokenize",
        "GET /health", "GET /ready", "GET /ping", "GET /version", "GET /metrics",
    ];

    private readonly WebApplication _app;

    private ApiServer(WebApplication app, ServerState state, ServingMetrics metrics)
    {
        _app = app;
        State = state;
        Metrics = metrics;
    }

    public ServerState State { get; }
    public ServingMetrics Metrics { get; }
    /// <summary>The --max-waiting-requests admission counter; null when unlimited.</summary>
    public RequestQueueLimit? QueueLimit { get; private init; }

    /// <summary>The addresses Kestrel listens on (known after <see cref="StartAsync"/>; port 0 resolves to the real port).</summary>
    public IReadOnlyList<string> Urls => [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];

    public static ApiServer Create(AsyncLLM engine, ServerArgs args)
    {
        args.ToolCalling.Validate();
        IReadOnlyList<string> names = args.ServedModelNames.Count > 0 ? args.ServedModelNames : [engine.ModelPath];
        var defaults = GenerationConfigDefaults.Load(args.GenerationConfig, Directory.Exists(engine.ModelPath) ? engine.ModelPath : null);
        var state = new ServerState(engine, names, defaults);
        var metrics = new ServingMetrics(engine, names[0]);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(args.LogLevel);
        // The framework's own per-request Information lines (hosting, routing) would double every access; below
        // debug they stay at Warning, as uvicorn's info level shows one line per request, not four.
        if (args.LogLevel > LogLevel.Debug) builder.Logging.AddFilter("Microsoft", (LogLevel)Math.Max((int)args.LogLevel, (int)LogLevel.Warning));
        builder.WebHost.UseUrls($"http://{(args.Host is "0.0.0.0" ? "*" : args.Host)}:{args.Port}");
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = HttpJson.MaxBodyBytes);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = args.DrainTimeout);
        CorsSetup.AddServices(builder.Services, args);
        RateLimitSetup.AddServices(builder.Services, args);
        WebApplication app = builder.Build();
        RequestLogger? requestLogger = args.DisableLogRequests ? null : new RequestLogger(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("vllmsharp.requests"));
        var renderer = new ChatPromptRenderer(engine.Tokenizer, ReadChatTemplate(args.ChatTemplate));
        var chat = new ChatService(engine, renderer, defaults, requestLogger, args.ToolCalling);
        CorsSetup.Use(app);

        ILogger access = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("vllmsharp.access");
        if (!args.DisableAccessLog)
            app.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                finally
                {
                    // uvicorn's access line at info level: client, request line, status.
                    if (access.IsEnabled(LogLevel.Information))
                        access.LogInformation("{Client}:{Port} - \"{Method} {Path} {Protocol}\" {Status}", context.Connection.RemoteIpAddress,
                            context.Connection.RemotePort, context.Request.Method, context.Request.Path.Value, context.Request.Protocol, context.Response.StatusCode);
                }
            });
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; the engine request was aborted with it.
            }
            catch (Exception e) when (!context.Response.HasStarted)
            {
                await HttpJson.WriteErrorAsync(context.Response, e);
            }
        });
        string? apiKey = args.ApiKey;
        if (!string.IsNullOrEmpty(apiKey))
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/v1") && context.Request.Headers.Authorization != $"Bearer {apiKey}")
                {
                    await HttpJson.WriteAsync(context.Response,
                        new ErrorResponse(new ErrorInfo("Invalid or missing API key.", "AuthenticationError", null, 401)), 401);
                    return;
                }
                await next(context);
            });

        RateLimitSetup.Use(app, args);
        // After the key and rate checks (a refused client learns nothing of the load), before any endpoint reads a body.
        RequestQueueLimit? queueLimit = RequestQueueLimit.Use(app, args, engine.MaxNumSeqs);

        HealthEndpoints.Map(app, state.Engine);
        ModelsEndpoints.Map(app, state);
        TokenizeEndpoints.Map(app, state, renderer);
        CompletionsEndpoints.Map(app, state, requestLogger);
        ChatEndpoints.Map(app, state, chat);
        app.MapGet("/metrics", () => Results.Text(metrics.Registry.Collect(), "text/plain; version=0.0.4; charset=utf-8"));
        return new ApiServer(app, state, metrics) { QueueLimit = queueLimit };
    }

    /// <summary>vLLM's --chat-template takes a file path or the template text itself.</summary>
    private static string? ReadChatTemplate(string? value)
        => value is null ? null : File.Exists(value) ? File.ReadAllText(value) : value;

    /// <summary>Cancelled when shutdown begins (SIGTERM, Ctrl-C or <see cref="StopAsync"/>), before the drain.</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Stops accepting, lets in-flight requests finish within the drain timeout, then aborts the rest.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Metrics.Dispose();
    }
}
