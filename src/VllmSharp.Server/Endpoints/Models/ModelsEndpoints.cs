using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Models;

/// <summary><c>GET /v1/models</c>: one entry per served name, with vLLM's extra fields (root, max_model_len).</summary>
public static class ModelsEndpoints
{
    public sealed record ModelCard(string Id, string Object, long Created, string OwnedBy, string Root, string? Parent, int MaxModelLen);
    public sealed record ModelList(string Object, IReadOnlyList<ModelCard> Data);

    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        app.MapGet("/v1/models", (HttpContext context) =>
        {
            long created = state.StartedAt.ToUnixTimeSeconds();
            var cards = state.ServedModelNames
                .Select(name => new ModelCard(name, "model", created, "vllmsharp", state.Engine.ModelPath, null, state.Engine.MaxModelLen))
                .ToList();
            return HttpJson.WriteAsync(context.Response, new ModelList("list", cards));
        });
    }
}
