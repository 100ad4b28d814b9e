using System.Text.Json;

namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>
/// <c>tool_choice: "required"</c>: generation is constrained to <see cref="ToolChoiceSchema.ForRequired"/>'s array of
/// <c>{"name": …, "parameters": {…}}</c> objects, so the text is scanned as JSON and each array item becomes a call
/// as soon as its closing brace arrives. Output cut short before any whole item (max_tokens) is passed on as content.
/// </summary>
public sealed class RequiredToolCallExtractor : ToolCallExtractor
{
    private int _scan, _depth, _itemStart;
    private bool _inString, _escaped;

    protected override void Process(bool final)
    {
        string text = Text;
        for (; _scan < text.Length; _scan++)
        {
            char c = text[_scan];
            if (_inString)
            {
                if (_escaped) _escaped = false;
                else if (c == '\\') _escaped = true;
                else if (c == '"') _inString = false;
                continue;
            }
            switch (c)
            {
                case '"': _inString = true; break;
                case '{' or '[':
                    if (++_depth == 2) _itemStart = _scan;
                    break;
                case '}' or ']':
                    if (_depth-- == 2 && c == '}') Item(text[_itemStart..(_scan + 1)]);
                    break;
            }
        }
        if (final && CallCount == 0 && text.Length > 0) EmitContent(text);
    }

    private void Item(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return; // cannot happen under the schema constraint; an unparsable item is not a call
        }
        using var _ = doc;
        JsonElement item = doc.RootElement;
        if (item.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String
            && item.TryGetProperty("parameters", out JsonElement parameters))
            EmitCall(name.GetString()!, parameters.GetRawText());
    }
}
