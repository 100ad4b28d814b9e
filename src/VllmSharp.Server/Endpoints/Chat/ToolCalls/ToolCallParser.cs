using System.Text.Json;

namespace VllmSharp.Server.Endpoints.Chat.ToolCalls;

/// <summary>One tool call recovered from generated text; <see cref="Arguments"/> is the JSON text of the arguments object.</summary>
public sealed record ParsedToolCall(string Name, string Arguments);

/// <summary>What a parser found: the text outside the calls (null when empty) and the calls themselves.</summary>
public sealed record ToolCallParseResult(string? Content, IReadOnlyList<ParsedToolCall> ToolCalls);

/// <summary>
/// Recovers tool calls from model output in the formats vLLM names hermes/qwen3, llama3_json and mistral.
/// Anything malformed comes back as plain content with no calls, because a half-parsed call would be worse
/// for the client than the raw text.
/// </summary>
public static class ToolCallParser
{
    public static readonly IReadOnlyList<string> Names = ["hermes", "qwen3", "llama3_json", "mistral"];

    public static bool IsKnown(string name) => Names.Contains(name);

    public static ToolCallParseResult Parse(string parser, string text) => parser switch
    {
        "hermes" or "qwen3" => ParseHermes(text),
        "llama3_json" => ParseLlama3(text),
        "mistral" => ParseMistral(text),
        _ => throw new ArgumentException($"Unknown tool call parser '{parser}'.", nameof(parser)),
    };

    private static ToolCallParseResult Plain(string text) => new(text.Length == 0 ? null : text, []);

    private static ToolCallParseResult ParseHermes(string text)
    {
        const string Open = "<tool_call>", Close = "</tool_call>";
        var calls = new List<ParsedToolCall>();
        var content = new System.Text.StringBuilder();
        int pos = 0;
        while (true)
        {
            int start = text.IndexOf(Open, pos, StringComparison.Ordinal);
            if (start < 0) { content.Append(text, pos, text.Length - pos); break; }
            int end = text.IndexOf(Close, start + Open.Length, StringComparison.Ordinal);
            if (end < 0) return Plain(text);
            content.Append(text, pos, start - pos);
            var call = ReadCall(text.Substring(start + Open.Length, end - start - Open.Length), "arguments");
            if (call is null) return Plain(text);
            calls.Add(call);
            pos = end + Close.Length;
        }
        if (calls.Count == 0) return Plain(text);
        var rest = content.ToString().Trim();
        return new(rest.Length == 0 ? null : rest, calls);
    }

    private static ToolCallParseResult ParseLlama3(string text)
    {
        var body = text.Trim();
        if (body.StartsWith("<|python_tag|>", StringComparison.Ordinal)) body = body["<|python_tag|>".Length..].Trim();
        // Llama 3 may emit several calls separated by ';' (which may also occur inside the JSON strings).
        var calls = new List<ParsedToolCall>();
        int pos = 0;
        while (pos < body.Length)
        {
            int end = body[pos] == '{' ? ObjectEnd(body, pos) : -1;
            if (end < 0 || ReadCall(body[pos..end], "arguments", "parameters") is not { } call) return Plain(text);
            calls.Add(call);
            pos = end;
            while (pos < body.Length && (char.IsWhiteSpace(body[pos]) || body[pos] == ';')) pos++;
        }
        return calls.Count == 0 ? Plain(text) : new(null, calls);
    }

    /// <summary>The index just after the '}' closing the JSON object that starts at <paramref name="start"/>, or -1.</summary>
    internal static int ObjectEnd(string text, int start)
    {
        int depth = 0;
        bool inString = false, escaped = false;
        for (int i = start; i < text.Length; i++)
        {
            char c = text[i];
            if (inString)
            {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
            }
            else if (c == '"') inString = true;
            else if (c is '{' or '[') depth++;
            else if (c is '}' or ']' && --depth == 0) return i + 1;
        }
        return -1;
    }

    /// <summary>
    /// Mistral's two forms: before tokenizer v11 one <c>[TOOL_CALLS]</c> and a JSON array of {name, arguments}; from
    /// v11 on, <c>[TOOL_CALLS]name{arguments}</c> (v13: <c>[TOOL_CALLS]name[ARGS]{arguments}</c>) once per call.
    /// </summary>
    private static ToolCallParseResult ParseMistral(string text)
    {
        const string Tag = "[TOOL_CALLS]", Args = "[ARGS]";
        int start = text.IndexOf(Tag, StringComparison.Ordinal);
        if (start < 0) return Plain(text);
        var calls = new List<ParsedToolCall>();
        int pos = start;
        while (pos < text.Length)
        {
            if (string.CompareOrdinal(text, pos, Tag, 0, Tag.Length) != 0) return Plain(text);
            pos += Tag.Length;
            while (pos < text.Length && char.IsWhiteSpace(text[pos])) pos++;
            if (pos < text.Length && text[pos] == '[')
            {
                if (!ReadCallArray(text[pos..], calls)) return Plain(text);
                pos = text.Length;
                break;
            }
            int open = text.IndexOf('{', pos);
            if (open < 0) return Plain(text);
            string name = text[pos..open];
            if (name.EndsWith(Args, StringComparison.Ordinal)) name = name[..^Args.Length];
            int end = ObjectEnd(text, open);
            if (name.Trim().Length == 0 || end < 0 || ReadCall($"{{\"name\": {JsonSerializer.Serialize(name.Trim())}, \"arguments\": {text[open..end]}}}", "arguments") is not { } call)
                return Plain(text);
            calls.Add(call);
            pos = end;
            while (pos < text.Length && char.IsWhiteSpace(text[pos])) pos++;
        }
        var before = text[..start].Trim();
        return new(before.Length == 0 ? null : before, calls);
    }

    private static bool ReadCallArray(string json, List<ParsedToolCall> calls)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array || doc.RootElement.GetArrayLength() == 0) return false;
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                if (FromElement(item, "arguments") is not { } call) return false;
                calls.Add(call);
            }
            return true;
        }
        catch (JsonException) { return false; }
    }

    /// <summary>The call in one JSON object: its name and the first of <paramref name="argsKeys"/> it has ("{}" when none).</summary>
    internal static ParsedToolCall? ReadCall(string json, params string[] argsKeys)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.Trim());
            return FromElement(doc.RootElement, argsKeys);
        }
        catch (JsonException) { return null; }
    }

    private static ParsedToolCall? FromElement(JsonElement e, params string[] argsKeys)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        if (!e.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String) return null;
        JsonElement args = default;
        bool found = false;
        foreach (string key in argsKeys)
            if (found = e.TryGetProperty(key, out args)) break;
        if (!found) return new(name.GetString()!, "{}");
        // Some models emit the arguments already as a JSON string; keep that string as the arguments text.
        if (args.ValueKind == JsonValueKind.String) return new(name.GetString()!, args.GetString()!);
        if (args.ValueKind != JsonValueKind.Object) return null;
        return new(name.GetString()!, args.GetRawText());
    }
}
