using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using VllmSharp.Core.Errors;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Tokenize;

/// <summary>vLLM's <c>POST /tokenize</c> and <c>POST /detokenize</c>.</summary>
public static class TokenizeEndpoints
{
    public sealed record TokenizeRequest(string? Model, string? Prompt, bool? AddSpecialTokens);
    public sealed record TokenizeResponse(int Count, int MaxModelLen, IReadOnlyList<int> Tokens);
    public sealed record DetokenizeRequest(string? Model, List<int>? Tokens);
    public sealed record DetokenizeResponse(string Prompt);

    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        app.MapPost("/tokenize", async (HttpContext context) =>
        {
            var request = await HttpJson.ReadAsync<TokenizeRequest>(context.Request, context.RequestAborted);
            state.ResolveModel(request.Model);
            if (request.Prompt is null) throw new InvalidRequestException("prompt is required.", "prompt");
            IReadOnlyList<int> tokens = state.Engine.Tokenizer.Encode(request.Prompt, request.AddSpecialTokens ?? true);
            await HttpJson.WriteAsync(context.Response, new TokenizeResponse(tokens.Count, state.Engine.MaxModelLen, tokens));
        });
        app.MapPost("/detokenize", async (HttpContext context) =>
        {
            var request = await HttpJson.ReadAsync<DetokenizeRequest>(context.Request, context.RequestAborted);
            state.ResolveModel(request.Model);
            if (request.Tokens is null) throw new InvalidRequestException("tokens is required.", "tokens");
            foreach (int id in request.Tokens)
                if ((uint)id >= (uint)state.Engine.Tokenizer.VocabSize)
                    throw new InvalidRequestException($"Token id {id} is out of vocabulary.", "tokens");
            string text = state.Engine.Tokenizer.Decode([.. request.Tokens], skipSpecialTokens: false);
            await HttpJson.WriteAsync(context.Response, new DetokenizeResponse(text));
        });
    }
}
