using System.Text.Json.Serialization;

namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>OpenAI's <c>function</c> of a tool call: the name and the arguments as JSON text.</summary>
public sealed record FunctionCall(string Name, string Arguments);

/// <summary>OpenAI's tool call in a chat message (<c>type</c> is always "function").</summary>
public sealed record ToolCall(string Id, string Type, FunctionCall Function)
{
    /// <summary>vLLM's id shape: <c>chatcmpl-tool-</c> and 32 hex digits.</summary>
    public static string NewId() => "chatcmpl-tool-" + Guid.NewGuid().ToString("N");

    /// <summary>vLLM's id for Mistral models: 9 letters and digits, the only shape Mistral's templates accept.</summary>
    public static string NewMistralId()
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return string.Create(9, 0, (span, _) =>
        {
            for (int i = 0; i < span.Length; i++) span[i] = Alphabet[Random.Shared.Next(Alphabet.Length)];
        });
    }
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
