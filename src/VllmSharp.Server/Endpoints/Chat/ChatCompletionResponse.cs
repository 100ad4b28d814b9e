using System.Text.Json.Serialization;
using VllmSharp.Server.Endpoints.Chat.ToolCalls;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Chat;

/// <summary>OpenAI's <c>chat.completion</c> object.</summary>
public sealed record ChatCompletionResponse(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices,
    UsageInfo Usage, string? SystemFingerprint,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<Dictionary<string, PromptLogprobEntry>?>? PromptLogprobs = null);

public sealed record ChatChoice(int Index, ChatMessage Message, object? Logprobs, string? FinishReason, object? StopReason);

/// <summary>The assistant's reply; <c>tool_calls</c> is left out when the reply calls no tool.</summary>
public sealed record ChatMessage(string Role, string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCall>? ToolCalls = null);

/// <summary>OpenAI's <c>chat.completion.chunk</c>: the first delta of a choice carries the role, the last its finish_reason.</summary>
public sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices,
    UsageInfo? Usage, string? SystemFingerprint);

public sealed record ChatChunkChoice(int Index, ChatDelta Delta, object? Logprobs, string? FinishReason, object? StopReason);

/// <summary>A chat delta; <c>role</c> is left out after the first chunk, as OpenAI sends it, and <c>tool_calls</c> when empty.</summary>
public sealed record ChatDelta([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role, string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<DeltaToolCall>? ToolCalls = null);
