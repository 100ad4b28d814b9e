using System.Text.Json.Serialization;

namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>OpenAI's <c>function</c> of a tool call: the name and the arguments as JSON text.</summary>
public sealed record FunctionCall(string Name, string Arguments);

/// <summary>OpenAI's tool call in a chat message (<c>type</c> is always "function").</summary>
public sealed record ToolCall(string Id, string Type, FunctionCall Function)
{
    /// <summary>vLLM's id shape: <c>chatcmpl-tool-</c> and 32 hex digits.</summary>
    public static string NewId() => "chatcmpl-tool-" + Guid.NewGuid().ToString("N");
}

/// <summary>
/// A piece of a streamed tool call: the first piece of call <see cref="Index"/> carries its id, type and name, later
/// pieces only more <c>arguments</c> text, which the client appends.
/// </summary>
public sealed record DeltaToolCall(int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type,
    DeltaFunctionCall Function);

public sealed record DeltaFunctionCall(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments);
