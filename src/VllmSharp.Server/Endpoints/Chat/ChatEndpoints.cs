using Microsoft.AspNetCore.Routing;

namespace VllmSharp.Server.Endpoints.Chat;

/// <summary><c>POST /v1/chat/completions</c>, streaming (SSE) or not.</summary>
public static class ChatEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ServerState state, ChatService service)
        => GenerationEndpoint.Map<ChatCompletionRequest>(app, "/v1/chat/completions", state,
            async (request, id, model, ct) => await service.CreateAsync(request, id, model, ct),
            (request, id, model, ct) => service.StreamAsync(request, id, model, ct));
}
