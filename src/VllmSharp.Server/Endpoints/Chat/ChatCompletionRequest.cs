using System.Text.Json;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Chat;

/// <summary>The body of <c>POST /v1/chat/completions</c> (OpenAI's fields plus vLLM's chat-template extras).</summary>
public sealed record ChatCompletionRequest : SamplingRequest
{
    public JsonElement Messages { get; init; }
    public int? MaxTokens { get; init; }
    /// <summary>OpenAI's newer name for max_tokens; wins when both are given.</summary>
    public int? MaxCompletionTokens { get; init; }
    public JsonElement? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public JsonElement? Documents { get; init; }
    public bool? AddGenerationPrompt { get; init; }
    public bool? ContinueFinalMessage { get; init; }
    public Dictionary<string, JsonElement>? ChatTemplateKwargs { get; init; }
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }

    protected override int? RequestedMaxTokens => MaxCompletionTokens ?? MaxTokens;
}
