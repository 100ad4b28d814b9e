using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace VllmSharp.Server.Endpoints.Health;

/// <summary>Liveness and version probes, open without an API key as in vLLM.</summary>
public static class HealthEndpoints
{
    public static string Version { get; } = typeof(HealthEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/health", () => Results.Ok());
        app.MapGet("/ready", () => Results.Ok());
        app.MapGet("/ping", () => Results.Ok());
        app.MapPost("/ping", () => Results.Ok());
        app.MapGet("/version", () => Results.Json(new { version = Version }));
    }
}
