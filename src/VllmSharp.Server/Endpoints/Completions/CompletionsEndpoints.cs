using Microsoft.AspNetCore.Routing;
using VllmSharp.Server.Logging;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary><c>POST /v1/completions</c>, streaming (SSE) or not.</summary>
public static class CompletionsEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ServerState state, RequestLogger? requestLogger = null)
    {
        var service = new CompletionService(state.Engine, state.Defaults, requestLogger);
        GenerationEndpoint.Map<CompletionRequest>(app, "/v1/completions", state,
            async (request, id, model, ct) => await service.CreateAsync(request, id, model, ct),
            (request, id, model, ct) => service.StreamAsync(request, id, model, ct));
    }
}
