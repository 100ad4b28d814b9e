namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>
/// The serve flags for tool calling, as vLLM's: <c>--enable-auto-tool-choice</c>, <c>--tool-call-parser</c> and
/// <c>--exclude-tools-when-tool-choice-none</c>.
/// </summary>
public sealed record ToolCallOptions
{
    public bool EnableAutoToolChoice { get; init; }
    /// <summary>hermes, qwen3, llama3_json or mistral (<see cref="ToolCallParser.Names"/>).</summary>
    public string? Parser { get; init; }
    public bool ExcludeToolsWhenToolChoiceNone { get; init; }

    /// <summary>Whether <c>tool_choice: "auto"</c> can be served.</summary>
    public bool AutoEnabled => EnableAutoToolChoice && Parser is not null;

    /// <summary>Throws <see cref="ArgumentException"/> naming the flag when the combination is unusable (checked at startup).</summary>
    public void Validate()
    {
        if (Parser is not null && !ToolCallParser.IsKnown(Parser))
            throw new ArgumentException($"invalid tool call parser: {Parser} (choose from {{ {string.Join(", ", ToolCallParser.Names)} }})");
        if (EnableAutoToolChoice && Parser is null)
            throw new ArgumentException("When `--enable-auto-tool-choice` is set, `--tool-call-parser` must be set.");
    }
}
