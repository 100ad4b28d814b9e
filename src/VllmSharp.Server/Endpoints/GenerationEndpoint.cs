using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VllmSharp.Server.Protocol;
using VllmSharp.Server.Streaming;

namespace VllmSharp.Server.Endpoints;

/// <summary>
/// The shape every generating route shares: read the body, check the model name, then answer with one JSON object
/// or, with <c>"stream": true</c>, with server-sent events.
/// </summary>
public static class GenerationEndpoint
{
    public delegate Task<object> CreateAsync<in TRequest>(TRequest request, string requestId, string model, CancellationToken cancellationToken);
    public delegate IAsyncEnumerable<object> StreamAsync<in TRequest>(TRequest request, string requestId, string model, CancellationToken cancellationToken);

    public static void Map<TRequest>(IEndpointRouteBuilder app, string path, ServerState state, CreateAsync<TRequest> create, StreamAsync<TRequest> stream)
        where TRequest : SamplingRequest
    {
        app.MapPost(path, async (HttpContext context) =>
        {
            var request = await HttpJson.ReadAsync<TRequest>(context.Request, context.RequestAborted);
            string model = state.ResolveModel(request.Model);
            string requestId = Guid.NewGuid().ToString("N");
            if (request.Stream == true)
                await ServerSentEvents.WriteAsync(context, stream(request, requestId, model, context.RequestAborted));
            else
                await HttpJson.WriteAsync(context.Response, await create(request, requestId, model, context.RequestAborted));
        });
    }
}
