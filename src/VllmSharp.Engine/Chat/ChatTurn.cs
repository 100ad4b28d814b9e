using System.Text.Json;

namespace VllmSharp.Engine.Chat;

/// <summary>
/// One text message of a conversation for <c>LLM.Chat</c> (vLLM's <c>{"role": ..., "content": ...}</c> dicts). Role is what the chat template expects: "system", "user",
/// "assistant" (or "tool", …).
/// </summary>
public sealed record ChatTurn(string Role, string Content)
{
    public static ChatTurn System(string content) => new("system", content);
    public static ChatTurn User(string content) => new("user", content);
    public static ChatTurn Assistant(string content) => new("assistant", content);

    /// <summary>
    /// The OpenAI <c>messages</c> JSON array that <see cref="ChatPromptRenderer"/> renders, so typed messages and
    /// JSON messages go through exactly the same template path.
    /// </summary>
    public static JsonElement ToJsonArray(IReadOnlyList<ChatTurn> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (ChatTurn message in messages)
            {
                ArgumentNullException.ThrowIfNull(message, nameof(messages));
                writer.WriteStartObject();
                writer.WriteString("role", message.Role);
                writer.WriteString("content", message.Content);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        // Parse + Clone: the element must outlive the document that owns its buffer.
        using JsonDocument document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }
}
