using System.Text.Json.Serialization;
using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary>OpenAI's completion object (<c>"object": "text_completion"</c>).</summary>
public sealed record CompletionResponse(string Id, string Object, long Created, string Model, IReadOnlyList<CompletionChoice> Choices, UsageInfo Usage);

/// <summary>One choice; vLLM adds <c>stop_reason</c> (the stop string or token id that ended it).</summary>
public sealed record CompletionChoice(int Index, string Text, object? Logprobs, string? FinishReason, object? StopReason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<Dictionary<string, PromptLogprobEntry>?>? PromptLogprobs = null);
