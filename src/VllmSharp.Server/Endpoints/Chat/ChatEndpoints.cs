using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VllmSharp.Server.Protocol;
using VllmSharp.Server.Streaming;

namespace VllmSharp.Server.Endpoints.Chat;

/// <summary><c>POST /v1/chat/completions</c>, streaming (SSE) or not.</summary>
public static class ChatEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ServerState state, ChatService service)
    {
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var request = await HttpJson.ReadAsync<ChatCompletionRequest>(context.Request, context.RequestAborted);
            string model = state.ResolveModel(request.Model);
            string requestId = Guid.NewGuid().ToString("N");
            if (request.Stream == true)
                await ServerSentEvents.WriteAsync(context, service.StreamAsync(request, requestId, model, context.RequestAborted));
            else
                await HttpJson.WriteAsync(context.Response, await service.CreateAsync(request, requestId, model, context.RequestAborted));
        });
    }
}
