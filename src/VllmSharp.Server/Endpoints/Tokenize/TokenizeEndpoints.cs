using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using System.Text.Json;
using VllmSharp.Core.Errors;
using VllmSharp.Engine.Chat;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Tokenize;

/// <summary>
/// vLLM's <c>POST /tokenize</c> (a <c>prompt</c>, or chat <c>messages</c> rendered with the chat template exactly as
/// /v1/chat/completions renders them) and <c>POST /detokenize</c>.
/// </summary>
public static class TokenizeEndpoints
{
    public sealed record TokenizeRequest
    {
        public string? Model { get; init; }
        public string? Prompt { get; init; }
        /// <summary>Defaults to true for a prompt and false for messages (the template writes its own BOS), as vLLM.</summary>
        public bool? AddSpecialTokens { get; init; }
        public JsonElement? Messages { get; init; }
        public bool? AddGenerationPrompt { get; init; }
        public bool? ContinueFinalMessage { get; init; }
        public Dictionary<string, JsonElement>? ChatTemplateKwargs { get; init; }
        public JsonElement? Tools { get; init; }
        public JsonElement? Documents { get; init; }
    }

    public sealed record TokenizeResponse(int Count, int MaxModelLen, IReadOnlyList<int> Tokens);
    public sealed record DetokenizeRequest(string? Model, List<int>? Tokens);
    public sealed record DetokenizeResponse(string Prompt);

    public static void Map(IEndpointRouteBuilder app, ServerState state, ChatPromptRenderer renderer)
    {
        app.MapPost("/tokenize", async (HttpContext context) =>
        {
            var request = await HttpJson.ReadAsync<TokenizeRequest>(context.Request, context.RequestAborted);
            state.ResolveModel(request.Model);
            IReadOnlyList<int> tokens;
            if (request.Messages is JsonElement messages && messages.ValueKind != JsonValueKind.Null)
            {
                if (request.Prompt is not null) throw new InvalidRequestException("Give either prompt or messages, not both.", "messages");
                string text = renderer.Render(messages, request.AddGenerationPrompt ?? true, request.ContinueFinalMessage ?? false,
                    request.Tools, request.Documents, request.ChatTemplateKwargs);
                tokens = state.Engine.Tokenizer.Encode(text, request.AddSpecialTokens ?? false);
            }
            else
            {
                if (request.Prompt is null) throw new InvalidRequestException("prompt (or messages) is required.", "prompt");
                tokens = state.Engine.Tokenizer.Encode(request.Prompt, request.AddSpecialTokens ?? true);
            }
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
