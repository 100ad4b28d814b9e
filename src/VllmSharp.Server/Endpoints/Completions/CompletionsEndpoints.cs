using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VllmSharp.Server.Protocol;
using VllmSharp.Server.Streaming;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary><c>POST /v1/completions</c>, streaming (SSE) or not.</summary>
public static class CompletionsEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        var service = new CompletionService(state.Engine);
        app.MapPost("/v1/completions", async (HttpContext context) =>
        {
            var request = await HttpJson.ReadAsync<CompletionRequest>(context.Request, context.RequestAborted);
            string model = state.ResolveModel(request.Model);
            string requestId = Guid.NewGuid().ToString("N");
            if (request.Stream == true)
                await ServerSentEvents.WriteAsync(context, service.StreamAsync(request, requestId, model, context.RequestAborted));
            else
                await HttpJson.WriteAsync(context.Response, await service.CreateAsync(request, requestId, model, context.RequestAborted));
        });
    }
}
