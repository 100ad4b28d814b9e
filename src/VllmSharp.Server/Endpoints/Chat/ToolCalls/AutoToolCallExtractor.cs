namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>
/// <c>tool_choice: "auto"</c>: the model decides, and the <c>--tool-call-parser</c>'s format says where calls are.
/// Text that cannot be part of a call streams as content at once; text that may be (a marker's first characters)
/// waits for the next piece. hermes/qwen3 emit each <c>&lt;tool_call&gt;…&lt;/tool_call&gt;</c> block as soon as it
/// closes; mistral (<c>[TOOL_CALLS]</c> then a JSON array) and llama3_json (the whole reply is the JSON call, maybe
/// after <c>&lt;|python_tag|&gt;</c>) are parsed when the choice finishes. A block that does not parse is passed on
/// as content, as <see cref="ToolCallParser"/> does.
/// </summary>
public sealed class AutoToolCallExtractor(string parser) : ToolCallExtractor
{
    private const string HermesOpen = "<tool_call>", HermesClose = "</tool_call>", MistralTag = "[TOOL_CALLS]", PythonTag = "<|python_tag|>";

    private int _pos;           // Text before _pos has been emitted or consumed
    private bool? _llamaCalls;  // llama3_json: decided by the first non-blank text

    protected override void Process(bool final)
    {
        switch (parser)
        {
            case "hermes" or "qwen3": Hermes(final); break;
            case "mistral": Mistral(final); break;
            case "llama3_json": Llama3(final); break;
            default: throw new ArgumentException($"Unknown tool call parser '{parser}'.", nameof(parser));
        }
    }

    private void Hermes(bool final)
    {
        string text = Text;
        while (true)
        {
            int start = text.IndexOf(HermesOpen, _pos, StringComparison.Ordinal);
            if (start < 0)
            {
                ContentUpToMarker(text, HermesOpen, final);
                return;
            }
            Content(text, start);
            int end = text.IndexOf(HermesClose, start + HermesOpen.Length, StringComparison.Ordinal);
            if (end < 0)
            {
                if (final) Content(text, text.Length); // never closed: the client gets the raw text
                return;
            }
            string block = text.Substring(start + HermesOpen.Length, end - start - HermesOpen.Length);
            if (ToolCallParser.ReadCall(block, "arguments") is { } call) EmitCall(call.Name, call.Arguments);
            else EmitContent(text[start..(end + HermesClose.Length)]);
            _pos = end + HermesClose.Length;
        }
    }

    private void Mistral(bool final)
    {
        string text = Text;
        int start = text.IndexOf(MistralTag, _pos, StringComparison.Ordinal);
        if (start < 0)
        {
            ContentUpToMarker(text, MistralTag, final);
            return;
        }
        Content(text, start);
        if (final) CallsOrContent("mistral", text);
    }

    private void Llama3(bool final)
    {
        string text = Text;
        if (_llamaCalls is null)
        {
            string rest = text[_pos..].TrimStart();
            if (rest.Length == 0 && !final) return; // leading blanks wait: a call may follow
            if (rest.StartsWith('{') || rest.StartsWith(PythonTag, StringComparison.Ordinal)) _llamaCalls = true;
            else if (!final && PythonTag.StartsWith(rest, StringComparison.Ordinal)) return;
            else _llamaCalls = false;
        }
        if (_llamaCalls == false) Content(text, text.Length);
        else if (final) CallsOrContent("llama3_json", text);
    }

    /// <summary>Parses the rest of the text as the format's call list, or passes it on as content if it does not parse.</summary>
    private void CallsOrContent(string format, string text)
    {
        ToolCallParseResult parsed = ToolCallParser.Parse(format, text[_pos..]);
        if (parsed.ToolCalls.Count == 0) Content(text, text.Length);
        else
        {
            if (parsed.Content is not null) EmitContent(parsed.Content);
            foreach (ParsedToolCall call in parsed.ToolCalls) EmitCall(call.Name, call.Arguments);
            _pos = text.Length;
        }
    }

    private void ContentUpToMarker(string text, string marker, bool final)
        => Content(text, final ? text.Length : text.Length - PartialMarkerLength(text, _pos, marker));

    private void Content(string text, int end)
    {
        if (end > _pos) EmitContent(text[_pos..end]);
        _pos = Math.Max(_pos, end);
    }
}
