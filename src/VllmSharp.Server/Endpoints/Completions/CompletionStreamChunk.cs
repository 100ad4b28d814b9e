using VllmSharp.Server.Protocol;

namespace VllmSharp.Server.Endpoints.Completions;

/// <summary>One SSE chunk of a streamed completion (same object as the response, choices carrying text deltas).</summary>
public sealed record CompletionStreamChunk(string Id, string Object, long Created, string Model, IReadOnlyList<CompletionChoice> Choices, UsageInfo? Usage);
