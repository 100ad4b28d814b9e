namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>
/// <c>tool_choice: "required"</c>: generation is constrained to <see cref="ToolChoiceSchema.ForRequired"/>'s array of
/// <c>{"name": …, "parameters": {…}}</c> objects, so the text is scanned as JSON and each array item becomes a call
/// as soon as its closing brace arrives. Output cut short before any whole item (max_tokens) is passed on as content.
/// </summary>
public sealed class RequiredToolCallExtractor : ToolCallExtractor
{
    private int _next; // where the next array item may start

    protected override void Process(bool final)
    {
        string text = Text;
        // Items are objects separated by ',' and blanks, so the next '{' starts one; it is a call once it closes.
        int open;
        while ((open = text.IndexOf('{', _next)) >= 0 && ToolCallParser.ObjectEnd(text, open) is var end and > 0)
        {
            Item(text[open..end]);
            _next = end;
        }
        if (final && CallCount == 0 && text.Length > 0) EmitContent(text);
    }

    private void Item(string json)
    {
        if (ToolCallParser.ReadCall(json, "parameters") is { } call) EmitCall(call.Name, call.Arguments);
    }
}
