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

    /// <summary>The addresses Kestrel listens on (known after <see cref="StartAsync"/>; port 0 resolves to the real port).</summary>
    public IReadOnlyList<string> Urls => [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];

    public static ApiServer Create(AsyncLLM engine, ServerArgs args)
    {
        IReadOnlyList<string> names = args.ServedModelNames.Count > 0 ? args.ServedModelNames : [engine.ModelPath];
        var state = new ServerState(engine, names);
        var metrics = new ServingMetrics(engine, names[0]);
        var chat = new ChatService(engine, new ChatPromptRenderer(engine.Tokenizer, ReadChatTemplate(args.ChatTemplate)));

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://{(args.Host is "0.0.0.0" ? "*" : args.Host)}:{args.Port}");
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = HttpJson.MaxBodyBytes);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = args.DrainTimeout);
        CorsSetup.AddServices(builder.Services, args);
        RateLimitSetup.AddServices(builder.Services, args);
        WebApplication app = builder.Build();
        CorsSetup.Use(app);

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

        HealthEndpoints.Map(app);
        ModelsEndpoints.Map(app, state);
        TokenizeEndpoints.Map(app, state);
        CompletionsEndpoints.Map(app, state);
        ChatEndpoints.Map(app, state, chat);
        app.MapGet("/metrics", () => Results.Text(metrics.Registry.Collect(), "text/plain; version=0.0.4; charset=utf-8"));
        return new ApiServer(app, state, metrics);
    }

    /// <summary>vLLM's --chat-template takes a file path or the template text itself.</summary>
    private static string? ReadChatTemplate(string? value)
        => value is null ? null : File.Exists(value) ? File.ReadAllText(value) : value;

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
