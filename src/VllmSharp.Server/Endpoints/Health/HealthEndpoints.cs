using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VllmSharp.Engine;

namespace VllmSharp.Server.Endpoints.Health;

/// <summary>Liveness and version probes, open without an API key as in vLLM.</summary>
public static class HealthEndpoints
{
    public static string Version { get; } = typeof(HealthEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>/health fails (500) once the engine core has died, as vLLM's does, so an orchestrator restarts the server.</summary>
    public static void Map(IEndpointRouteBuilder app, AsyncLLM engine)
    {
        app.MapGet("/health", () => engine.IsHealthy ? Results.Ok() : Results.StatusCode(StatusCodes.Status500InternalServerError));
        app.MapGet("/ready", () => Results.Ok());
        app.MapGet("/ping", () => Results.Ok());
        app.MapPost("/ping", () => Results.Ok());
        app.MapGet("/version", () => Results.Json(new { version = Version }));
    }
}
